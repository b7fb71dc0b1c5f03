// See runner.h.
#include "runner.h"

#include <algorithm>
#include <cstdio>

namespace homa::perf {
namespace {

void set_unloaded(const PhaseResult &cal, PhaseSpec *p) {
    for (size_t b = 0; b < kNumBuckets; ++b) p->unloaded_ns[b] = cal.buckets[b].rtt.quantile(0.5);
}

double calibration_seconds(const PhaseSpec &p) {
    return std::min(2.0, std::max(0.5, p.seconds / 4));
}

std::string pct_name(double pct) {
    char name[32];
    snprintf(name, sizeof(name), "load%g", pct);
    return name;
}

// With RunOptions::log_arrivals, gives an open-loop phase a log reserved for all its
// arrivals (the loop never grows it) and keeps it in the report.
void attach_log(const RunOptions &o, PhaseSpec *p, RunReport *rep) {
    if (!o.log_arrivals || !p->open_loop()) return;
    LoggedPhase lp;
    lp.name = p->name;
    lp.warmup_ns = static_cast<uint64_t>(p->warmup_s * 1e9);
    std::copy(std::begin(p->unloaded_ns), std::end(p->unloaded_ns), lp.unloaded_ns);
    lp.log = std::make_unique<ArrivalLog>();
    p->log_into(lp.log.get());
    rep->arrival_logs.push_back(std::move(lp));
}

}  // namespace

PhaseResult run_unloaded(LoadDriver &driver, const PhaseSpec &like, double seconds,
                         const std::atomic<bool> &quit) {
    PhaseSpec cal = like;
    cal.name = "unloaded";
    cal.schedule.clear();
    cal.outstanding = 1;
    cal.seconds = seconds;
    cal.ramp_s = 0;
    cal.progress = false;
    cal.log = nullptr;
    return run_closed_loop(driver, cal, quit);
}

RunReport run_all(LoadDriver &driver, const RunOptions &o, const std::atomic<bool> &quit) {
    RunReport rep;
    for (PhaseSpec p : o.phases) {
        if (quit) return rep;
        if (o.slowdown) set_unloaded(run_unloaded(driver, p, calibration_seconds(p), quit), &p);
        attach_log(o, &p, &rep);
        rep.phases.push_back(run_phase(driver, p, quit));
    }
    if (!o.needs_capacity() || quit) return rep;

    PhaseSpec base = o.base;
    PhaseResult cal = run_unloaded(driver, base, calibration_seconds(base), quit);
    rep.unloaded_p99_ns = cal.rtt.quantile(0.99);
    if (o.slowdown) set_unloaded(cal, &base);
    double capacity = o.capacity_rps;
    if (capacity <= 0) {
        rep.capacity = find_capacity(driver, base, o.capacity, rep.unloaded_p99_ns, quit);
        capacity = rep.capacity->knee_rps;
    }
    rep.capacity_rps = capacity;
    if (capacity <= 0) {
        if (!o.load_pcts.empty() || o.overload_step) {
            fprintf(stderr,
                    "homa-perf: no capacity found: the load phases and the overload step "
                    "were not run\n");
        }
        return rep;
    }
    for (double pct : o.load_pcts) {
        if (quit) return rep;
        PhaseSpec p = base;
        p.name = pct_name(pct);
        p.schedule = {{base.warmup_s + base.seconds, capacity * pct / 100}};
        fprintf(stderr, "homa-perf: %s: %g %% of %.0f RPC/s = %.0f RPC/s offered\n", p.name.c_str(),
                pct, capacity, capacity * pct / 100);
        attach_log(o, &p, &rep);
        rep.phases.push_back(run_open_loop(driver, p, quit));
    }
    if (o.overload_step && !quit) {
        OverloadConfig oc = o.overload;
        oc.capacity_rps = capacity;
        rep.overload = run_overload_step(driver, base, oc, quit);
    }
    return rep;
}

}  // namespace homa::perf
