// See overload_step.h. The run logs every arrival (reserved before the run, so the loop does
// not allocate); the windows are computed afterwards (overload_analysis.cc).
#include "overload_step.h"

#include <algorithm>
#include <cstdio>

#include "load_driver.h"

namespace homa::perf {

OverloadResult run_overload_step(LoadDriver &driver, const PhaseSpec &base,
                                 const OverloadConfig &cfg, const std::atomic<bool> &quit) {
    OverloadResult res;
    res.cfg = cfg;
    const double base_rps = cfg.capacity_rps * cfg.base_pct / 100;
    const double step_rps = cfg.capacity_rps * cfg.step_pct / 100;
    // At least ~100 arrivals per window, or its p99 is just its maximum.
    res.window_s = std::max(cfg.window_s, base_rps > 0 ? 100 / base_rps : cfg.window_s);

    PhaseSpec spec = base;
    spec.name = "overload_step";
    spec.schedule = {{cfg.before_s, base_rps}, {cfg.step_s, step_rps}, {cfg.after_s, base_rps}};
    spec.warmup_s = 0;  // every arrival counts: errors and skips of the whole step are reported
    ArrivalLog log;
    spec.log_into(&log);
    fprintf(stderr,
            "homa-perf: overload step on %s: %.0f RPC/s (%.0f %%) for %.0f ms, %.0f RPC/s "
            "(%.0f %%) for %.0f ms, %.0f RPC/s for %.0f ms\n",
            base.workload.name().c_str(), base_rps, cfg.base_pct, cfg.before_s * 1e3, step_rps,
            cfg.step_pct, cfg.step_s * 1e3, base_rps, cfg.after_s * 1e3);
    res.phase = run_open_loop(driver, spec, quit);
    analyse_overload(log, &res);
    return res;
}

}  // namespace homa::perf
