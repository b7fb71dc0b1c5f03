// See experiment.h.
#include "apps/sim/experiment.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "apps/sim/srpt_oracle.h"

namespace homa::sim {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Targets compute_targets(const ExperimentOptions &o, const ExperimentResult &r,
                        const apps::Workload &workload, std::span<const double> homa) {
    Targets t;
    if (o.incast.senders == 0) {
        t.small_half_max_bytes = length_at_fraction(workload, 0.5);
        std::vector<double> small;
        for (size_t i = 0; i < r.messages.size(); ++i) {
            if (r.messages[i].length <= t.small_half_max_bytes) small.push_back(homa[i]);
        }
        t.small_half_p99 = percentiles(std::move(small)).p99;
    }
    for (const Bucket &b : r.buckets) {
        if (!b.oracle || b.count == 0 || b.oracle->p99 <= 0) continue;
        double ratio = b.homa.p99 / b.oracle->p99;
        if (!t.worst_bucket_vs_oracle || ratio > *t.worst_bucket_vs_oracle) {
            t.worst_bucket_vs_oracle = ratio;
            t.worst_bucket_bytes = b.max_bytes;
        }
    }
    if (o.incast.senders != 0) {
        std::vector<double> probes;
        for (size_t i = 0; i < r.messages.size(); ++i) {
            if (r.messages[i].tagged) probes.push_back(homa[i]);
        }
        t.incast_probe_p99 = percentiles(std::move(probes)).p99;
    }
    return t;
}

}  // namespace

std::string validate_options(const ExperimentOptions &o) {
    std::string why;
    if (!o.topo.validate(&why)) return why;
    if (!o.engine.validate(&why)) return "engine: " + why;
    if (o.incast.senders == 0) {
        if (!(o.load > 0 && o.load <= 1.5)) return "load must be in (0, 1.5]";
        if (o.messages == 0 || o.messages > 100'000'000) return "messages must be 1..100,000,000";
    } else {
        if (o.incast.senders >= o.topo.hosts) return "incast senders must be fewer than hosts";
        if (o.incast.big_bytes == 0 || o.incast.big_bytes > wire::kMaxMessageLength ||
            o.incast.probe_bytes == 0 || o.incast.probe_bytes > wire::kMaxMessageLength) {
            return "incast message sizes must be 1..1,000,000";
        }
    }
    if (o.engine.link_mbps == 0) return "engine link_mbps must be > 0";
    return "";
}

ExperimentResult run_experiment(const ExperimentOptions &o, const apps::Workload &workload,
                                const ProgressFn &progress) {
    std::string why = validate_options(o);
    if (!why.empty()) throw std::invalid_argument(why);
    ExperimentResult r;
    std::vector<uint32_t> bounds;
    if (o.incast.senders == 0) {
        r.workload = workload.name();
        r.messages = poisson_all_to_all(o.topo, workload, o.load, o.messages, o.seed);
        bounds = decile_bounds(workload);
    } else {
        r.workload = "incast";
        r.messages = incast(o.topo, o.incast.senders, o.incast.big_bytes, o.incast.probes,
                            o.incast.probe_bytes, o.seed);
        bounds = {std::min(o.incast.probe_bytes, o.incast.big_bytes),
                  std::max(o.incast.probe_bytes, o.incast.big_bytes)};
        if (bounds[0] == bounds[1]) bounds.pop_back();
    }
    const SimTime last_arrival = r.messages.empty() ? 0 : r.messages.back().arrival;
    HomaCluster cluster(o.topo, o.engine, r.messages);
    auto t0 = std::chrono::steady_clock::now();  // the run, not building the engines
    const uint64_t total = r.messages.size();
    cluster.run(last_arrival + o.drain_ns * kPsPerNs, [&](SimTime now, uint64_t done) {
        if (progress) progress(now, done, total);
    });
    r.wall_seconds = seconds_since(t0);
    r.homa_done = cluster.completions();
    r.cluster = cluster.stats();
    std::vector<double> homa = slowdowns(o.topo, r.messages, r.homa_done, r.cluster.end);
    std::vector<double> oracle;
    if (o.oracle) {
        auto t1 = std::chrono::steady_clock::now();
        r.oracle_done = srpt_oracle(o.topo, r.messages);
        r.oracle_wall_seconds = seconds_since(t1);
        oracle = slowdowns(o.topo, r.messages, r.oracle_done, r.cluster.end);
        r.oracle_load = load_report(o.topo, r.messages, r.oracle_done, o.load);
    }
    r.buckets = bucketize(bounds, r.messages, homa, oracle);
    r.homa_load = load_report(o.topo, r.messages, r.homa_done, o.load);
    r.targets = compute_targets(o, r, workload, homa);
    if (o.incast.senders != 0) {
        // The receiver's link from its first frame until the last big message completed.
        const auto &busy = cluster.receiver_busy_at_completion();
        SimTime last = 0, busy_then = 0;
        for (size_t i = 0; i < r.messages.size(); ++i) {
            if (!r.messages[i].tagged && r.homa_done[i] > last) {
                last = r.homa_done[i];
                busy_then = busy[i];
            }
        }
        SimTime start = cluster.first_downlink_start(0);
        if (last > start) r.targets.incast_link_busy = double(busy_then) / double(last - start);
    }
    return r;
}

}  // namespace homa::sim
