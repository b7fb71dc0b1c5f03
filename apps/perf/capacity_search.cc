// See capacity_search.h. The search: start at the closed-loop estimate; double while probes
// pass (a closed loop at 64 outstanding may well be below the open-loop knee); once a probe
// has failed, bisect between the highest pass and the lowest failure (0 if none passed yet,
// i.e. halve). At most max_probes probes; the knee is the highest pass.
#include "capacity_search.h"

#include <rte_cycles.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "load_driver.h"

namespace homa::perf {
namespace {

// Polls without offering load, dropping whatever answers still arrive (an aborted probe's).
void settle(LoadDriver &driver, double seconds, const std::atomic<bool> &quit) {
    const uint64_t end = rte_rdtsc() + static_cast<uint64_t>(seconds * double(rte_get_tsc_hz()));
    Completed c;
    while (!quit.load(std::memory_order_relaxed) && rte_rdtsc() < end) {
        driver.poll();
        while (driver.next_response(&c, false)) {
        }
    }
}

}  // namespace

CapacityResult find_capacity(LoadDriver &driver, const PhaseSpec &base, const CapacityConfig &cfg,
                             uint64_t unloaded_p99_ns, const std::atomic<bool> &quit) {
    CapacityResult res;
    res.workload = base.workload.name();
    res.mean_bytes = base.workload.mean_length();
    res.unloaded_p99_ns = unloaded_p99_ns;
    res.p99_factor = cfg.p99_factor;
    res.min_achieved = cfg.min_achieved;

    PhaseSpec est = base;
    est.name = "estimate";
    est.schedule.clear();
    est.outstanding = cfg.estimate_outstanding;
    est.seconds = cfg.estimate_s;
    est.ramp_s = 0.001;
    est.progress = false;
    est.log = nullptr;
    PhaseResult e = run_closed_loop(driver, est, quit);
    settle(driver, cfg.settle_s, quit);
    res.estimate_rps = e.elapsed_s > 0 ? double(e.rpcs) / e.elapsed_s : 0;
    fprintf(stderr, "homa-perf: capacity of %s: unloaded p99 %.1f us; closed loop at %u "
                    "outstanding: %.0f RPC/s (%s errors)\n",
            res.workload.c_str(), double(unloaded_p99_ns) / 1e3, cfg.estimate_outstanding,
            res.estimate_rps, e.errors() ? std::to_string(e.errors()).c_str() : "no");
    if (res.estimate_rps <= 0 || unloaded_p99_ns == 0) {
        fprintf(stderr, "homa-perf: capacity: nothing to start from (no completions)\n");
        return res;
    }

    double pass = 0, fail = std::numeric_limits<double>::infinity();
    double rate = res.estimate_rps;
    for (uint32_t i = 0; i < cfg.max_probes && !quit.load(); ++i) {
        PhaseSpec ps = base;
        ps.name = "probe";
        ps.schedule = {{base.warmup_s + cfg.probe_s, rate}};
        ps.drain_s = cfg.probe_drain_s;
        ps.progress = false;
        ps.log = nullptr;
        ps.seed = base.seed + i;
        PhaseResult r = run_open_loop(driver, ps, quit);
        settle(driver, cfg.settle_s, quit);
        CapacityProbe p = judge_probe(r, rate, unloaded_p99_ns, cfg);
        res.probes.push_back(p);
        fprintf(stderr, "homa-perf: probe %u: offered %10.0f RPC/s (%.3f Gbps): served %10.0f, p99 "
                        "%9.1f us, errors %lu, skipped %lu, unfinished %lu: %s%s\n",
                i + 1, rate, rate * res.mean_bytes * 8 / 1e9, p.achieved_rps,
                double(p.p99_ns) / 1e3, p.errors, p.skips, p.unfinished,
                p.pass ? "pass" : "FAIL: ", p.why.c_str());
        if (p.pass) {
            pass = std::max(pass, rate);
        } else {
            fail = std::min(fail, rate);
        }
        if (std::isfinite(fail) && pass > 0 && fail - pass <= cfg.resolution * fail) break;
        rate = std::isfinite(fail) ? (pass + fail) / 2 : rate * 2;
    }
    res.knee_rps = pass;
    if (res.found()) {
        fprintf(stderr, "homa-perf: capacity (open-loop knee) of %s: %.0f RPC/s = %.3f Gbps "
                        "request load\n",
                res.workload.c_str(), res.knee_rps, res.knee_gbps());
    } else {
        fprintf(stderr, "homa-perf: capacity of %s: no offered load passed (knee not found)\n",
                res.workload.c_str());
    }
    return res;
}

}  // namespace homa::perf
