// See capacity_search.h. The search: a closed loop's rate sets the scale; the unloaded
// reference is an open loop at 2 % of it; the first probe offers a quarter of it, and probes
// double while they pass; once one has failed, bisect between the highest pass and the lowest
// failure (0 if none passed yet, i.e. halve). At most max_probes probes; the knee is the
// highest pass. From below, because a probe far beyond the knee can wreck the host for a while
// (the bad equilibrium of issue 12), and every later probe would pay for it.
#include "capacity_search.h"

#include <rte_cycles.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "load_driver.h"

namespace homa::perf {
namespace {

// "; N RPCs that met an absence of X us or more left out", for the search's lines.
std::string gap_note(uint64_t met, uint64_t min_ns) {
    char b[96];
    snprintf(b, sizeof(b), "; %lu RPCs that met an absence of %.0f us or more left out", met,
             double(min_ns) / 1e3);
    return b;
}

// The reference's gap note, with the share of a probe's RPCs that may meet an absence.
std::string reference_gap_note(uint64_t met, const UnloadedLatency &unloaded,
                               const CapacityConfig &cfg) {
    char b[128];
    snprintf(b, sizeof(b), " (%.1f %%: a probe may have %.1f %%)", unloaded.gap_share * 100,
             gap_share_limit(cfg, unloaded) * 100);
    return gap_note(met, cfg.gap_min_ns) + b;
}

// Polls without offering load, dropping late answers (an aborted run's), until the client's
// engine has seen no packet for settle_quiet_s or settle_max_s has passed. Returns seconds.
double settle(LoadDriver &driver, const CapacityConfig &cfg, const std::atomic<bool> &quit) {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_rdtsc();
    const uint64_t quiet = static_cast<uint64_t>(cfg.settle_quiet_s * double(hz));
    const uint64_t limit = start + static_cast<uint64_t>(cfg.settle_max_s * double(hz));
    uint64_t packets = driver.packets(), changed = start, now = start;
    Completed c;
    while (!quit.load(std::memory_order_relaxed) && (now = rte_rdtsc()) < limit) {
        driver.poll();
        while (driver.next_response(&c, false)) {}
        if (uint64_t p = driver.packets(); p != packets) {
            packets = p;
            changed = now;
        } else if (now - changed >= quiet) {
            break;
        }
    }
    return double(now - start) / double(hz);
}

PhaseSpec open_spec(const PhaseSpec &base, const char *name, double rate, double seconds,
                    double drain_s, uint64_t seed) {
    PhaseSpec ps = base;
    ps.name = name;
    ps.schedule = {{base.warmup_s + seconds, rate}};
    ps.drain_s = drain_s;
    ps.progress = false;
    ps.log = nullptr;
    ps.seed = seed;
    return ps;
}

// One open loop of the search. With CapacityConfig::gaps its arrivals are logged and split by
// the poll gaps in which the lcore was away gap_min_ns or more that they met, so that the
// caller judges it on the RPCs that met none.
struct SearchRun {
    PhaseResult r;
    bool split_done = false;
    GapSplit split;
    const GapSplit *split_or_null() const { return split_done ? &split : nullptr; }
};

SearchRun run_search_phase(LoadDriver &driver, PhaseSpec spec, const CapacityConfig &cfg,
                           const std::atomic<bool> &quit) {
    SearchRun out;
    ArrivalLog log;
    if (cfg.gaps) spec.log_into(&log);
    out.r = run_open_loop(driver, spec, quit);
    if (!cfg.gaps) return out;
    const double tsc_per_ns = double(rte_get_tsc_hz()) / 1e9;
    std::vector<GapInterval> gaps;
    cfg.gaps(&gaps);
    const auto min_cycles = static_cast<uint64_t>(double(cfg.gap_min_ns) * tsc_per_ns);
    const auto frame_cycles = static_cast<uint64_t>(double(cfg.gap_frame_ns) * tsc_per_ns);
    out.split.clear_latency =
        latency_without_gaps(log, static_cast<uint64_t>(spec.warmup_s * 1e9), tsc_per_ns,
                             merged_absences(std::move(gaps), min_cycles, frame_cycles),
                             &out.split.clear, &out.split.met);
    out.split_done = true;
    return out;
}

// After a failed probe: settles, then runs short checks at the reference rate until one
// passes the knee's criteria or recover_max_s has passed. Returns the seconds it took.
double recover(LoadDriver &driver, const PhaseSpec &base, const CapacityConfig &cfg,
               const CapacityResult &res, const std::atomic<bool> &quit, bool *recovered) {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_rdtsc();
    const uint64_t limit = start + static_cast<uint64_t>(cfg.recover_max_s * double(hz));
    *recovered = false;
    for (uint64_t seed = base.seed + 1000; !quit.load() && rte_rdtsc() < limit; ++seed) {
        settle(driver, cfg, quit);
        SearchRun c = run_search_phase(
            driver,
            open_spec(base, "check", res.reference_rps, cfg.check_s, cfg.probe_drain_s, seed), cfg,
            quit);
        if (judge_probe(c.r, res.reference_rps, res.unloaded, cfg, c.split_or_null()).pass) {
            *recovered = true;
            break;
        }
    }
    settle(driver, cfg, quit);
    return double(rte_rdtsc() - start) / double(hz);
}

}  // namespace

CapacityResult find_capacity(LoadDriver &driver, const PhaseSpec &base, const CapacityConfig &cfg,
                             uint64_t closed_unloaded_p99_ns, const std::atomic<bool> &quit) {
    CapacityResult res;
    res.workload = base.workload.name();
    res.mean_bytes = base.workload.mean_length();
    res.closed_unloaded_p99_ns = closed_unloaded_p99_ns;
    res.p99_factor = cfg.p99_factor;
    res.p50_factor = cfg.p50_factor;
    res.min_achieved = cfg.min_achieved;
    res.without_gaps = static_cast<bool>(cfg.gaps);
    res.gap_min_ns = cfg.gaps ? cfg.gap_min_ns : 0;
    res.gap_frame_ns = cfg.gaps ? cfg.gap_frame_ns : 0;

    PhaseSpec est = base;
    est.name = "estimate";
    est.schedule.clear();
    est.outstanding = cfg.estimate_outstanding;
    est.seconds = cfg.estimate_s;
    est.ramp_s = 0.001;
    est.progress = false;
    est.log = nullptr;
    PhaseResult e = run_closed_loop(driver, est, quit);
    settle(driver, cfg, quit);
    res.estimate_rps = e.elapsed_s > 0 ? double(e.rpcs) / e.elapsed_s : 0;
    fprintf(stderr,
            "homa-perf: capacity of %s: closed loop at %u outstanding: %.0f RPC/s (%lu "
            "errors); one at a time: p99 %.1f us\n",
            res.workload.c_str(), cfg.estimate_outstanding, res.estimate_rps, e.errors(),
            double(closed_unloaded_p99_ns) / 1e3);
    if (res.estimate_rps <= 0) {
        res.why_none = "the closed loop completed nothing";
        fprintf(stderr, "homa-perf: capacity: %s\n", res.why_none.c_str());
        return res;
    }

    // The unloaded reference: long enough for ~1,000 arrivals (at most 5 s), in windows of
    // their own so that a stall of the host, which lands in one, does not set the bounds.
    res.reference_rps = res.estimate_rps * cfg.reference_fraction;
    const double ref_s = std::min(5.0, std::max(cfg.probe_s, 1000 / res.reference_rps));
    const double expected = res.reference_rps * ref_s;
    const uint32_t windows = static_cast<uint32_t>(
        std::clamp<double>(std::floor(expected / std::max(1u, cfg.reference_window_arrivals)), 1,
                           std::max(1u, cfg.reference_windows)));
    uint64_t ref_rpcs = 0, ref_errors = 0, ref_unfinished = 0, ref_skips = 0, ref_met = 0;
    for (uint32_t w = 0; w < windows && !quit.load(); ++w) {
        SearchRun run = run_search_phase(
            driver,
            open_spec(base, "reference", res.reference_rps, ref_s / windows, cfg.probe_drain_s,
                      w == 0 ? base.seed : base.seed + 2000 + w),
            cfg, quit);
        const PhaseResult &ref = run.r;
        res.reference_windows.push_back(
            run.split_done && run.split.clear > 0
                ? run.split.clear_latency
                : UnloadedLatency{ref.rtt.quantile(0.5), ref.rtt.quantile(0.99)});
        ref_met += run.split.met;
        ref_rpcs += ref.rpcs;
        ref_errors += ref.errors();
        ref_unfinished += ref.unfinished;
        ref_skips += ref.overload_skips;
    }
    settle(driver, cfg, quit);
    res.unloaded = combine_reference_windows(res.reference_windows);
    res.unloaded.gap_share = ref_rpcs > 0 ? double(ref_met) / double(ref_rpcs) : 0;
    std::string each;
    for (const UnloadedLatency &w : res.reference_windows) {
        char b[32];
        snprintf(b, sizeof(b), "%s%.1f", each.empty() ? "" : ", ", double(w.p99_ns) / 1e3);
        each += b;
    }
    fprintf(stderr,
            "homa-perf: unloaded reference: open loop at %.0f RPC/s for %.1f s in %u window(s): "
            "p50 %.1f us, p99 %.1f us (median of the windows; their p99s: %s us) (%lu RPCs, "
            "%lu errors, %lu unfinished)%s\n",
            res.reference_rps, ref_s, windows, double(res.unloaded.p50_ns) / 1e3,
            double(res.unloaded.p99_ns) / 1e3, each.c_str(), ref_rpcs, ref_errors, ref_unfinished,
            cfg.gaps ? reference_gap_note(ref_met, res.unloaded, cfg).c_str() : "");
    if (ref_rpcs == 0 || ref_errors || ref_unfinished || ref_skips) {
        res.why_none = "the host fails even at the unloaded reference's rate";
        fprintf(stderr, "homa-perf: capacity: %s\n", res.why_none.c_str());
        return res;
    }

    double pass = 0, fail = std::numeric_limits<double>::infinity();
    double rate = res.estimate_rps * cfg.start_fraction;
    for (uint32_t i = 0; i < cfg.max_probes && !quit.load(); ++i) {
        SearchRun run = run_search_phase(
            driver,
            open_spec(base, "probe", rate, cfg.probe_s, cfg.probe_drain_s, base.seed + i + 1), cfg,
            quit);
        CapacityProbe p = judge_probe(run.r, rate, res.unloaded, cfg, run.split_or_null());
        p.settle_s = p.pass ? settle(driver, cfg, quit)
                            : recover(driver, base, cfg, res, quit, &p.recovered);
        res.probes.push_back(p);
        char after[96] = "";
        if (!p.pass) {
            snprintf(after, sizeof(after),
                     p.recovered ? "; host back after %.2f s" : "; host NOT back after %.2f s",
                     p.settle_s);
        }
        fprintf(stderr,
                "homa-perf: probe %u: offered %10.0f RPC/s (%.3f Gbps): served %10.0f, p50 "
                "%9.1f us, p99 %9.1f us, errors %lu, skipped %lu, unfinished %lu: %s%s%s%s\n",
                i + 1, rate, rate * res.mean_bytes * 8 / 1e9, p.achieved_rps,
                double(p.p50_ns) / 1e3, double(p.p99_ns) / 1e3, p.errors, p.skips, p.unfinished,
                p.pass ? "pass" : "FAIL: ", p.why.c_str(), after,
                cfg.gaps ? (gap_note(p.met_gap, cfg.gap_min_ns) + "; p99 of all " +
                            std::to_string(p.p99_all_ns / 1000) + " us")
                               .c_str()
                         : "");
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
        fprintf(stderr,
                "homa-perf: capacity (open-loop knee) of %s: %.0f RPC/s = %.3f Gbps "
                "request load\n",
                res.workload.c_str(), res.knee_rps, res.knee_gbps());
    } else {
        res.why_none = "no offered load passed";
        fprintf(stderr, "homa-perf: capacity of %s: no offered load passed (knee not found)\n",
                res.workload.c_str());
    }
    return res;
}

}  // namespace homa::perf
