// One measured phase of homa-perf: what to run (PhaseSpec) and what came out (PhaseResult).
// Two kinds: a closed loop (N RPCs kept in flight, ramped up first) and an open loop (Poisson
// arrivals following a rate schedule, latency counted from each arrival's scheduled time).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/common/workload.h"
#include "error_counts.h"
#include "latency_histogram.h"

namespace homa::perf {

using apps::Workload;

class LoadDriver;

/** Size buckets for per-size statistics: upper bounds in bytes. */
inline constexpr uint32_t kBucketBounds[] = {100, 1'000, 10'000, 100'000, 1'000'000};
inline constexpr size_t kNumBuckets = sizeof(kBucketBounds) / sizeof(kBucketBounds[0]);
/** The bucket `length` is counted in: the first whose bound holds it, else the last. Inline so
 *  that DPDK-free code (the overload analysis and its tests) can use it without phase.cc. */
inline size_t bucket_of(uint32_t length) {
    for (size_t i = 0; i < kNumBuckets; ++i) {
        if (length <= kBucketBounds[i]) return i;
    }
    return kNumBuckets - 1;
}

/** An open-loop rate held for a while: Poisson arrivals at `rate_rps` for `seconds`. */
struct RateSegment {
    double seconds = 0;
    double rate_rps = 0;
};

/** What became of one open-loop arrival (ArrivalLog). */
enum class Outcome : uint8_t { kPending, kCompleted, kError, kSkipped, kUnfinished };

struct Arrival {
    uint64_t scheduled_ns = 0;  ///< Since the phase started.
    uint64_t latency_ns = 0;    ///< Scheduled arrival to response (kCompleted only).
    uint32_t length = 0;
    Outcome outcome = Outcome::kPending;
};

/** Every arrival of an open-loop phase in arrival order, for analysis after the run (the
 *  overload step's sliding-window p99). Reserved before the run: the loop only fills it;
 *  arrivals beyond the reservation are counted in `not_logged`, never silently dropped. */
struct ArrivalLog {
    std::vector<Arrival> arrivals;
    uint64_t not_logged = 0;
    uint64_t start_tsc = 0;  ///< The TSC that scheduled_ns counts from (set by the loop).
};

struct PhaseSpec {
    std::string name;
    Workload workload;
    /** Closed loop: RPCs kept in flight. Open loop: the most RPCs in flight at once (arrivals
     *  beyond wait in the backlog, their latency still counting). */
    uint32_t outstanding = 1;
    /** Empty: closed loop. Otherwise an open loop through these segments in turn. */
    std::vector<RateSegment> schedule;
    double seconds = 1;        ///< Closed loop: the measured window (after ramp and warm-up).
    double warmup_s = 0;       ///< Not measured: after the ramp (closed), from the start (open).
    double ramp_s = 0;         ///< Closed loop: the first `outstanding` sends spread over this.
    uint32_t ramp_batch = 32;  ///< Closed loop, during the ramp: RPCs added per iteration.
    double drain_s = 2;        ///< After the last arrival / window: wait this long for responses.
    uint32_t backlog_cap = 1u << 20;  ///< Open loop: arrivals waiting to be sent, at most.
    bool verify = false;
    bool progress = false;  ///< A progress line to stderr every second.
    uint64_t seed = 1;
    /** Unloaded RTT per bucket (ns) for slowdown; 0 = unknown (no slowdown reported). */
    uint64_t unloaded_ns[kNumBuckets] = {};
    ArrivalLog *log = nullptr;  ///< Open loop: record every arrival here (optional).

    /** Open loop: makes `log` the phase's log, reserved for every arrival its schedule can
     *  bring (the expected count, plus 20 % and 10,000 for Poisson's spread), so that the
     *  loop never grows it. `log` must outlive the phase's run. */
    void log_into(ArrivalLog *log);

    bool open_loop() const noexcept { return !schedule.empty(); }
    /** Open loop: length of the schedule in seconds. */
    double schedule_seconds() const noexcept;
    /** Open loop: mean offered rate over the measured part (after warm-up) of the schedule. */
    double offered_rps() const noexcept;
};

struct BucketResult {
    LatencyHistogram rtt;
    LatencyHistogram slowdown_x100;  ///< RTT / unloaded RTT, times 100.
};

struct PhaseResult {
    std::string name;
    std::string workload;
    bool open_loop = false;
    uint32_t outstanding = 0;  ///< Closed loop: N. Open loop: the in-flight cap.
    double rate_rps = 0;       ///< Open loop: offered rate (mean over the measured part).
    // --- the measured window: what the rates, latencies and cycles below are about ---
    uint64_t rpcs = 0;      ///< Measured RPCs that completed without error.
    uint64_t arrivals = 0;  ///< Open loop: arrivals scheduled in the measured window.
    double window_s = 0;    ///< Length of the measured window.
    /** From the window's start to the later of its end and the last measured completion: a
     *  backlog that drains late stretches it, so rpcs / elapsed_s is the rate really served. */
    double elapsed_s = 0;
    uint64_t payload_bytes = 0;  ///< Request + response payload bytes of measured RPCs.
    /** Closed loop: RPCs that completed (without error) inside the window, and their payload
     *  bytes. The closed loop's rates are these over window_s: counting RPCs by start time
     *  over elapsed_s under-reports by about L / (window + L) when the latency L is long (at
     *  10^6 live RPCs L is a second or more), since the window also waits for their ends. */
    uint64_t completions_in_window = 0;
    uint64_t completed_bytes_in_window = 0;
    uint64_t total_cycles = 0;  ///< TSC cycles of the window.
    uint64_t busy_cycles = 0;   ///< ... in loop iterations that did work.
    uint64_t packets = 0;       ///< Homa packets in + out of the client engine in the window.
    uint64_t verified = 0;
    uint64_t verify_failures = 0;
    LatencyHistogram rtt;
    BucketResult buckets[kNumBuckets];
    // --- the whole phase (ramp, warm-up, window, drain): nothing here is ever left out ---
    ErrorCounts send_errors;       ///< Sends refused for good: the RPC never started.
    ErrorCounts response_errors;   ///< RPCs that completed with an error.
    ErrorCounts refused;           ///< Open loop: arrivals whose send was refused at first
                                   ///< (retried from the backlog), by cause.
    uint64_t cap_waits = 0;        ///< Open loop: arrivals that waited for the in-flight cap.
    uint64_t overload_skips = 0;   ///< Open loop: arrivals skipped, the backlog being full.
    uint64_t backlog_max = 0;      ///< Open loop: deepest backlog seen.
    uint64_t backlog_cap = 0;      ///< Open loop: the backlog's capacity.
    uint64_t unfinished = 0;       ///< RPCs still in flight or waiting at the drain's end
                                   ///< (then aborted).
    uint64_t unmeasured_rpcs = 0;  ///< Completions outside the window (ramp, warm-up, drain).
    uint64_t stale = 0;            ///< Responses of an earlier phase (ignored).
    uint32_t max_in_flight = 0;
    /** Open loop: RPCs in flight plus arrivals waiting to be sent, at the measured window's
     *  middle and end. A queue that grows across the second half is not served at the rate
     *  it arrives, however bounded the window's latencies still look. */
    uint64_t queued_mid = 0;
    uint64_t queued_end = 0;
    // --- closed loop: the ramp-up that came before the window ---
    uint32_t ramp_target = 0;   ///< RPCs to get in flight.
    uint32_t ramp_reached = 0;  ///< RPCs in flight when the ramp ended.
    uint32_t ramp_batch = 0;    ///< RPCs added per loop iteration at most, during the ramp.
    double ramp_planned_s = 0;
    double ramp_s = 0;    ///< How long the ramp took.
    double warmup_s = 0;  ///< Closed loop: as long as the spec's, or a full turnover if longer.
    /** Closed loop: completions between the ramp's end and the window's start (the window
     *  waits for `outstanding` of them, one turnover, so that it starts in steady state;
     *  false if that took longer than the window itself and the window started anyway). */
    uint64_t warmup_completions = 0;
    bool warmup_turned_over = false;

    uint64_t errors() const noexcept { return send_errors.total() + response_errors.total(); }
};

/** Runs a phase through `driver` (closed or open loop per spec). `quit` ends it early. */
PhaseResult run_phase(LoadDriver &driver, const PhaseSpec &spec, const std::atomic<bool> &quit);
PhaseResult run_closed_loop(LoadDriver &driver, const PhaseSpec &spec,
                            const std::atomic<bool> &quit);
PhaseResult run_open_loop(LoadDriver &driver, const PhaseSpec &spec, const std::atomic<bool> &quit);

}  // namespace homa::perf
