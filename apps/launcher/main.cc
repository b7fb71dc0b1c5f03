// homa-dp: the testpmd-style launcher. EAL arguments, then `--`, then our flags (or
// --flagfile=config/<name>.conf). It brings up one port and a worker lcore that serves Homa
// echo on --echo_ports, exposes every counter through DPDK telemetry (/homa/*), initialises
// pdump, and either prints stats every --stats_period seconds or, with -i, gives a prompt.
#include <gflags/gflags.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pdump.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <thread>

#include "apps/common/ipv4.h"
#include "homa/dataplane/host.h"
#include "apps/common/knobs.h"
#include "cli.h"
#include "counters.h"
#include "service.h"
#include "telemetry.h"

#define HOMA_KNOB_FLAG(field, help_text) \
    DEFINE_uint64(field, homa::EngineConfig{}.field, help_text " (Linux default)");
HOMA_KNOBS(HOMA_KNOB_FLAG)
#undef HOMA_KNOB_FLAG

DEFINE_string(local_ip, "10.0.0.1", "this host's IPv4 address");
DEFINE_uint32(port, 0, "DPDK port id");
DEFINE_string(echo_ports, "99", "comma-separated Homa server ports answered with echo");
DEFINE_string(neighbours, "", "static neighbours: ip=aa:bb:cc:dd:ee:ff,... (else broadcast)");
DEFINE_bool(i, false, "interactive prompt (show/set/start/stop/freeze/unfreeze/clear/help/quit)");
DEFINE_uint32(stats_period, 0, "non-interactive: print stats every N seconds (0: never)");
DEFINE_double(duration, 0, "non-interactive: exit after N seconds (0: run until SIGINT)");
DEFINE_uint32(pool_mb, 256, "bpage pool size in MiB");
DEFINE_bool(stage_cycles, true, "count TSC cycles per poll stage (cycles_* counters)");
DEFINE_uint32(timetrace_records, 1u << 16,
              "timetrace ring per worker lcore: records, a power of two (0: none)");

namespace {

std::atomic<bool> g_quit{false};  // SIGINT/SIGTERM: the one global, as in DPDK's apps
void on_signal(int) { g_quit.store(true); }

int fail(const std::string &m) {
    fprintf(stderr, "homa-dp: %s\n", m.c_str());
    return 2;
}

// gflags wants underscores; accept --stats-period as well as --stats_period.
void normalise_flag_names(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        char *a = argv[i];
        if (a[0] != '-' || a[1] != '-') continue;
        for (char *p = a + 2; *p && *p != '='; ++p) {
            if (*p == '-') *p = '_';
        }
    }
}

bool parse_ports(const std::string &s, std::vector<uint16_t> *out, std::string *error) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        char *end = nullptr;
        unsigned long v = strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end || v == 0 || v >= 0x8000) {
            *error = "bad --echo_ports entry '" + item + "' (1..32767)";
            return false;
        }
        out->push_back(static_cast<uint16_t>(v));
    }
    return true;
}

bool parse_neighbours(const std::string &s, std::vector<std::pair<uint32_t, homa::dp::MacAddr>> *out,
                      std::string *error) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        auto eq = item.find('=');
        uint32_t ip;
        homa::dp::MacAddr mac{};
        unsigned m[6];
        if (eq == std::string::npos || !homa::apps::parse_ipv4(item.substr(0, eq), &ip) ||
            sscanf(item.c_str() + eq + 1, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
                   &m[5]) != 6) {
            *error = "bad --neighbours entry '" + item + "' (want ip=aa:bb:cc:dd:ee:ff)";
            return false;
        }
        for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(m[i]);
        out->push_back({ip, mac});
    }
    return true;
}

bool engine_config_from_flags(homa::EngineConfig *c, std::string *error) {
    size_t count;
    const homa::apps::KnobInfo *k = homa::apps::knobs(&count);
    for (size_t i = 0; i < count; ++i) {
        gflags::CommandLineFlagInfo info;
        gflags::GetCommandLineFlagInfo(k[i].name, &info);
        if (!k[i].set(*c, std::stoull(info.current_value))) {
            *error = "--" + std::string(k[i].name) + "=" + info.current_value + " is out of range";
            return false;
        }
    }
    return c->validate(error);
}

int run(int argc, char **argv);

}  // namespace

int main(int argc, char **argv) {
    int consumed = rte_eal_init(argc, argv);
    if (consumed < 0) {
        fprintf(stderr, "homa-dp: EAL initialisation failed (see the EAL messages above)\n");
        return 1;
    }
    int rc = run(argc - consumed, argv + consumed);
    rte_eal_cleanup();
    return rc;
}

namespace {

int run(int argc, char **argv) {
    gflags::SetUsageMessage("homa-dp [EAL args] -- [flags]: the homa-dp launcher");
    normalise_flag_names(argc, argv);
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    if (argc > 1) return fail(std::string("unexpected argument '") + argv[1] + "'");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    std::string error;
    homa::dp::HostConfig ho;
    ho.name = "launcher";
    if (!engine_config_from_flags(&ho.worker.engine, &error)) return fail("bad engine knob: " + error);
    if (!homa::apps::parse_ipv4(FLAGS_local_ip, &ho.worker.engine.local_ip)) {
        return fail("bad --local_ip " + FLAGS_local_ip);
    }
    std::vector<uint16_t> echo_ports;
    if (!parse_ports(FLAGS_echo_ports, &echo_ports, &error)) return fail(error);
    if (!parse_neighbours(FLAGS_neighbours, &ho.worker.neighbours, &error)) return fail(error);
    if (rte_lcore_count() < 2) {
        return fail("needs a main lcore and a worker lcore: e.g. -l 0,1 or --lcores=0@0,1@0");
    }
    if (FLAGS_port >= rte_eth_dev_count_avail()) {
        return fail("no DPDK port " + std::to_string(FLAGS_port) +
                    ": give one with EAL args, e.g. --vdev=net_null0,no-rx=1");
    }
    ho.port_id = static_cast<uint16_t>(FLAGS_port);
    ho.pool_bytes = size_t{FLAGS_pool_mb} << 20;
    ho.mbufs = 32767;
    ho.worker.stage_cycles = FLAGS_stage_cycles;
    ho.worker.timetrace_records = FLAGS_timetrace_records;
    auto host = homa::dp::Host::create(ho, &error);
    if (!host) return fail(error);

    if (int rc = rte_pdump_init(); rc < 0) {
        fprintf(stderr, "homa-dp: pdump unavailable (%s): dpdk-pdump needs a primary process "
                        "with shared config (no --no-shconf / --in-memory)\n", rte_strerror(rte_errno));
    }
    homa::dp::Port *commands = homa::dp::Port::create("homa_launcher_cmd", 64,
                                                      homa::dp::PortMode::kMultiProducer,
                                                      static_cast<int>(rte_socket_id()));
    if (commands == nullptr) return fail("cannot create the command port");
    homa::launcher::Service service(host->worker(0), *commands, echo_ports);
    if (service.open(&error) < 0) return fail(error);
    unsigned worker_lcore = rte_get_next_lcore(-1, 1, 0);
    if (int rc = rte_eal_remote_launch(homa::launcher::Service::main_loop, &service, worker_lcore);
        rc < 0) {
        return fail("cannot launch the worker lcore: " + std::string(strerror(-rc)));
    }
    if (int rc = homa::launcher::register_telemetry(*host, *commands); rc < 0) {
        fprintf(stderr, "homa-dp: telemetry endpoints unavailable: %s\n", strerror(-rc));
    }
    fprintf(stderr, "homa-dp: %s on port %u (%s), echo on %s, worker lcore %u\n",
            FLAGS_local_ip.c_str(), FLAGS_port, host->port_info().driver.c_str(),
            FLAGS_echo_ports.c_str(), worker_lcore);

    if (FLAGS_i) {
        homa::launcher::Cli cli(*host, *commands, service);
        cli.run(STDIN_FILENO, STDOUT_FILENO);
    } else {
        auto start = std::chrono::steady_clock::now();
        auto next_stats = start + std::chrono::seconds(FLAGS_stats_period);
        while (!g_quit) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            auto now = std::chrono::steady_clock::now();
            if (FLAGS_duration > 0 && now - start >= std::chrono::duration<double>(FLAGS_duration)) break;
            if (FLAGS_stats_period && now >= next_stats) {
                printf("--- stats at %.0f s ---\n%s", std::chrono::duration<double>(now - start).count(),
                       homa::launcher::format_counters(host->worker(0), false).c_str());
                fflush(stdout);
                next_stats += std::chrono::seconds(FLAGS_stats_period);
            }
        }
    }
    homa::launcher::unregister_telemetry();
    service.stop_flag = true;
    rte_eal_wait_lcore(worker_lcore);
    homa::dp::Port::destroy(commands);
    fprintf(stderr,
            "homa-dp: stopped cleanly (%lu requests echoed, %lu echo retries for want of a send "
            "slot, %lu echoes refused)\n",
            service.echoed.load(), service.echo_retries.load(), service.echo_failures.load());
    return 0;
}

}  // namespace
