// homa-sim: the unmodified homa::Engine as every host of a simulated cluster (one
// output-queued switch with 8 strict-priority queues per port), driven by the Homa paper's
// workloads, compared with an SRPT oracle over the same arrivals. See docs/sim.md.
#include <gflags/gflags.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "apps/sim/flags.h"
#include "apps/sim/report.h"

namespace {

using namespace homa::sim;  // NOLINT: the simulator's own namespace

double load_average() {
    std::ifstream f("/proc/loadavg");
    double v = -1;
    if (!(f >> v)) return -1;
    return v;
}

// A progress line on stderr once a run has taken 2 s, then every second.
ProgressFn progress_printer(bool enabled) {
    if (!enabled) return {};
    auto start = std::chrono::steady_clock::now();
    auto last = start;
    bool tty = isatty(STDERR_FILENO);
    return [=](SimTime now, uint64_t done, uint64_t total) mutable {
        auto t = std::chrono::steady_clock::now();
        double wall = std::chrono::duration<double>(t - start).count();
        if (wall < 2 || std::chrono::duration<double>(t - last).count() < 1) return;
        last = t;
        std::fprintf(stderr, "%s[homa-sim] %.3f ms simulated, %lu/%lu messages done, %.0f s wall%s",
                     tty ? "\r" : "", double(now) / 1e9, static_cast<unsigned long>(done),
                     static_cast<unsigned long>(total), wall, tty ? "   " : "\n");
    };
}

}  // namespace

int main(int argc, char **argv) {
    std::string command;
    for (int i = 0; i < argc; ++i) {
        if (i) command += ' ';
        command += argv[i];
    }
    gflags::SetUsageMessage(
        "simulates a cluster of homa::Engine hosts against an SRPT oracle\n"
        "  homa-sim --hosts=16 --workload=w3 --load=0.8 --messages=100000 --link_gbps=25 "
        "--seed=1 [--json] [--plot=FILE.png] [--oracle] [--find_max_load] [--incast=15]");
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    if (argc > 1) {
        std::fprintf(stderr, "homa-sim: error: unexpected argument '%s' (flags are --name=value)\n",
                     argv[1]);
        return 2;
    }
    CliOptions cli;
    std::string error;
    if (!options_from_flags(&cli, &error)) {
        std::fprintf(stderr, "homa-sim: error: %s\n", error.c_str());
        return 2;
    }
    RunInfo info;
    info.command = command;
    const ProgressFn progress = progress_printer(cli.progress);

    if (!cli.sweep_loads.empty()) {
        // Loads in increasing order; the maximum is the highest load below the first failure.
        std::vector<double> loads = cli.sweep_loads;
        std::sort(loads.begin(), loads.end());
        double best = 0, best_oracle = 0;
        bool failed = false, oracle_failed = false;
        for (double l : loads) {
            ExperimentOptions o = cli.experiment;
            o.load = l;
            o.oracle = true;  // a few % of the Homa run's time: same loads, same criterion
            ExperimentResult r = run_experiment(o, cli.workload, progress);
            const LoadReport &lr = r.homa_load;
            char line[256];
            std::snprintf(
                line, sizeof line,
                "  sweep: load %.2f Homa achieved %.3f of arrived %.3f, backlog %.1f -> %.1f MB, "
                "incomplete %lu, max port queue %.0f KB: %s; SRPT achieved %.3f: %s\n",
                l, lr.achieved, lr.arrived, lr.backlog_mid_mb, lr.backlog_end_mb,
                static_cast<unsigned long>(lr.incomplete), r.cluster.max_port_queue_bytes / 1024.0,
                lr.sustained ? "sustained" : "NOT sustained", r.oracle_load->achieved,
                r.oracle_load->sustained ? "sustained" : "NOT sustained");
            info.sweep += line;
            if (cli.progress) std::fputs(line, stderr);
            if (lr.sustained && !failed) best = l;
            if (!lr.sustained) failed = true;
            if (r.oracle_load->sustained && !oracle_failed) best_oracle = l;
            if (!r.oracle_load->sustained) oracle_failed = true;
        }
        info.max_sustainable_load = best;
        info.max_sustainable_load_oracle = best_oracle;
    }

    ExperimentResult r = run_experiment(cli.experiment, cli.workload, progress);
    if (cli.progress && r.wall_seconds >= 2 && isatty(STDERR_FILENO)) std::fputc('\n', stderr);
    info.load_average = load_average();
    if (cli.json) {
        print_json(stdout, cli.experiment, r, info);
    } else {
        print_table(stdout, cli.experiment, r, info);
    }
    if (!cli.plot.empty()) {
        std::string why;
        if (write_plot(cli.plot, cli.experiment, r, &why)) {
            std::fprintf(stderr, "homa-sim: plot written to %s\n", cli.plot.c_str());
        } else {
            std::fprintf(stderr, "homa-sim: %s\n", why.c_str());
        }
    }
    return 0;
}
