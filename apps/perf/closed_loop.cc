// The closed loop: keep N RPCs in flight, each completion making room for the next request.
//
// The N first requests are not sent in one pass: that would start N RPCs in the same
// microsecond, whose timers would then fire in the same tick for the rest of the run (issue
// 12). They are ramped in: at time t of the ramp at most N * t / ramp_s are in flight, and at
// most ramp_batch more are added per loop iteration (completions are refilled at once), so the
// host keeps polling meanwhile. The
// measured window starts after the ramp plus a warm-up, and the report says what the ramp was.
#include <rte_cycles.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "phase_run.h"

namespace homa::perf {

PhaseResult run_closed_loop(LoadDriver &driver, const PhaseSpec &spec,
                            const std::atomic<bool> &quit) {
    PhaseResult r;
    r.name = spec.name;
    r.workload = spec.workload.name();
    r.outstanding = spec.outstanding;
    r.ramp_target = spec.outstanding;
    r.ramp_batch = spec.ramp_batch;
    r.ramp_planned_s = spec.ramp_s;
    r.warmup_s = spec.warmup_s;
    const uint32_t n = std::max<uint32_t>(spec.outstanding, 1);
    PhaseRun run(driver, spec, n, &r);
    const uint64_t hz = run.hz();
    const uint64_t start = run.start_tsc();
    const uint64_t ramp_ticks = static_cast<uint64_t>(spec.ramp_s * double(hz));
    // If the host refuses sends so that N are never in flight together, the ramp ends anyway
    // after this, and the report says how many were reached.
    const uint64_t ramp_limit = start + ramp_ticks + std::max(hz, ramp_ticks);
    const uint64_t warmup = static_cast<uint64_t>(spec.warmup_s * double(hz));
    const uint64_t window = static_cast<uint64_t>(spec.seconds * double(hz));
    const uint64_t drain = static_cast<uint64_t>(spec.drain_s * double(hz));
    std::mt19937_64 rng(spec.seed);

    bool ramping = true;
    // After the ramp, the window waits for a full turnover (as many completions as RPCs in
    // flight, N) besides the warm-up time: with 10^6 live RPCs the first completions come a second
    // or more after the ramp, and a window opened before then is not in steady state. It waits
    // at most one window length more.
    bool warming = false;
    uint64_t warm_min = 0, warm_max = 0, completed = 0, turnover_at = 0, ramp_end = 0;
    // Lanes opened so far: each keeps one RPC in flight (refilled at once when it completes);
    // during the ramp at most ramp_batch lanes open per iteration.
    uint32_t opened = 0;
    uint64_t w1 = UINT64_MAX, drain_end = UINT64_MAX;
    // A request the host refused keeps its intended start and length for the retry: its
    // latency includes the wait.
    uint64_t retry_since = 0;
    uint32_t retry_length = 0;
    while (!quit.load(std::memory_order_relaxed)) {
        const uint64_t now = rte_rdtsc();
        if (now >= w1 && drain_end == UINT64_MAX) drain_end = now + drain;
        const bool stopping = drain_end != UINT64_MAX;
        if (stopping && (run.in_flight() == 0 || now >= drain_end)) break;
        bool work = driver.poll();
        if (uint32_t got = run.take_responses()) {
            completed += got;
            work = true;
        }
        if (!stopping) {
            if (ramping) {
                // By now N * t / ramp_s lanes may be open (at least one).
                uint64_t due = ramp_ticks ? uint64_t{n} * (now - start) / ramp_ticks : n;
                due = std::clamp<uint64_t>(due, 1, n);
                opened = static_cast<uint32_t>(
                    std::min<uint64_t>(due, uint64_t{opened} + spec.ramp_batch));
            } else {
                opened = n;
            }
            uint32_t sends = 0;
            // The intended start of every request of this pass: read when the first is sent,
            // so that a later one counts from before its send (latency over-, never
            // under-reported) and a pass pays one TSC read, not one per request.
            uint64_t pass_start = 0;
            while (run.in_flight() < opened) {
                // Up to N refills in one pass after a burst of completions: keep the deadline
                // and SIGINT in sight (checked every 256 sends, the TSC read is not free).
                if ((++sends & 255) == 0 &&
                    (quit.load(std::memory_order_relaxed) || rte_rdtsc() >= w1)) {
                    break;
                }
                if (!retry_since && pass_start == 0) pass_start = rte_rdtsc();
                const uint64_t intended = retry_since ? retry_since : pass_start;
                const uint32_t length = retry_since ? retry_length : spec.workload.sample(rng);
                int rc = run.start(length, intended, UINT32_MAX);
                if (rc == 0) {
                    retry_since = 0;
                    work = true;
                    continue;
                }
                if (retriable(rc)) {
                    if (!retry_since) r.refused.add(rc);
                    retry_since = intended;
                    retry_length = length;
                } else {
                    r.send_errors.add(rc);  // this request can never be sent: counted, dropped
                    retry_since = 0;
                }
                break;
            }
        }
        const uint64_t after = rte_rdtsc();
        if (ramping && (run.in_flight() >= n || after >= ramp_limit)) {
            ramping = false;
            r.ramp_reached = run.in_flight();
            r.ramp_s = double(after - start) / double(hz);
            warming = true;
            ramp_end = after;
            warm_min = after + warmup;
            warm_max = warm_min + window;
            turnover_at = completed + n;  // lanes still closed at the ramp's end open now
        }
        if (warming && after >= warm_min && (completed >= turnover_at || after >= warm_max)) {
            warming = false;
            r.warmup_s = double(after - ramp_end) / double(hz);
            r.warmup_completions = completed - (turnover_at - n);
            r.warmup_turned_over = completed >= turnover_at;
            w1 = after + window;
            run.set_window(after, w1);
        }
        run.account(work, after);
        run.progress(after, 0);
    }
    if (ramping) {  // stopped (SIGINT) before the ramp ended
        r.ramp_reached = run.in_flight();
        r.ramp_s = double(rte_rdtsc() - start) / double(hz);
    }
    run.finish();
    return r;
}

}  // namespace homa::perf
