// Capacity as the open-loop knee: the highest offered load whose latency stays bounded. A
// closed loop's rate is not a capacity: it adapts its offer to whatever the host serves, so it
// never sees the queue an open arrival process builds (issue 12). The search probes offered
// rates with short open-loop phases and keeps the highest one that passes.
//
// "Bounded" is relative to the unloaded p99 measured the same way: an open loop at a rate so
// low (2 % of a closed loop's) that the host queues nothing. A closed loop with one RPC would
// hide every stall of the machine (a preempted lcore delays one RPC, not all arrivals meanwhile)
// and make the bound unreachable on a busy machine for reasons that are not the load's.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "phase.h"  // (declares LoadDriver: these headers need no DPDK)

namespace homa::perf {

/** The unloaded reference's latency, what the knee's latency bounds are multiples of. */
struct UnloadedLatency {
    uint64_t p50_ns = 0;
    uint64_t p99_ns = 0;
    /** With CapacityConfig::gaps, the share of the reference's RPCs that met an absence
     *  (0 in a window's figures, and without gaps). */
    double gap_share = 0;
};

/** The unloaded reference from its windows (CapacityConfig::reference_windows): the median of
 *  the windows' p50s and of their p99s. A stall of the host lands in one window, whose p99 it
 *  can raise 50x (a 10 ms stall puts 1 % of an open loop's arrivals behind it), and a bound
 *  10x such a p99 lets the search pass probes far past the host's capacity; the median of
 *  three or more windows leaves that window out. With two windows, the lower; with one, it.
 *  Empty: zeros. */
UnloadedLatency combine_reference_windows(const std::vector<UnloadedLatency> &windows);

/** A gap of an lcore between two of its polls (dp::PollGap), in TSC cycles, and the frames
 *  the lcore handled in it. */
struct GapInterval {
    uint64_t start_tsc = 0;
    uint64_t end_tsc = 0;
    uint64_t frames = 0;
};
/** How long the lcore was away in gap `g` at least: its length less `frame_cycles` for each
 *  frame it handled in it (0 if those explain all of it). A gap is the time between two polls'
 *  starts, so a long poll of the worker's own (or the application's work after it) is one
 *  too; with a generous allowance per frame only the time no work explains is blamed on the
 *  host (docs/perf.md, "Gaps that were work"). */
uint64_t away_cycles(const GapInterval &g, uint64_t frame_cycles);
/** `gaps` sorted, those that overlap or touch joined into one. */
std::vector<GapInterval> merge_gaps(std::vector<GapInterval> gaps);
/** The gaps in which the lcore was away at least `min_cycles` (away_cycles with
 *  `frame_cycles` per frame), merged (merge_gaps): what an RPC must not meet to count as
 *  clear of the host's absences. */
std::vector<GapInterval> merged_absences(std::vector<GapInterval> gaps, uint64_t min_cycles,
                                         uint64_t frame_cycles);
/** The latency of an open loop's RPCs that met no gap: p50 and p99 over the completed arrivals
 *  of `log` scheduled at or after `from_ns` whose lifetime (scheduled arrival to response, on
 *  the TSC: log.start_tsc + ns x tsc_per_ns) overlaps none of `merged` (merge_gaps). `clear`
 *  and `met` (either may be null) get how many did not and did. Zeros if none is clear. */
UnloadedLatency latency_without_gaps(const ArrivalLog &log, uint64_t from_ns, double tsc_per_ns,
                                     const std::vector<GapInterval> &merged, uint64_t *clear,
                                     uint64_t *met);

struct CapacityConfig {
    double p99_factor = 10;  ///< Pass: p99 <= p99_factor x unloaded p99 ...
    /** ... and p50 <= p50_factor x unloaded p50 (0: no median bound). The median is there for
     *  hosts that stall: an open loop keeps offering RPCs while the host is stalled, so the
     *  share of RPCs that meet a stall is the share of time lost (3-4 % on our 2-vCPU
     *  guests), which puts the unloaded reference's p99 itself inside the stalls (up to 5 ms
     *  against 12.6 us one RPC at a time). A 10x bound on such a p99 let probes with a
     *  standing queue pass; a standing queue shows in the median, which the stalls barely
     *  move. 10x the unloaded median is an M/M/1 queue at 90 % utilisation. */
    double p50_factor = 10;
    double min_achieved = 0.95;  ///< ... completions >= this share of the arrivals' rate ...
                                 ///< ... and no errors, skips or unfinished RPCs ...
    /** ... and the queue (in flight + waiting) grew across the window's second half by at
     *  most this share of the arrivals in it (plus max_growth_floor RPCs of noise): a probe
     *  that is sliding into backlog still has a bounded p99 and serves what arrived, and
     *  would pass without this, yet a longer run at that rate does not hold (issue 12: W4
     *  passed 1 s at 23.4 k RPC/s and could not hold 18.7 k for 5 s). */
    double max_growth = 0.01;
    uint64_t max_growth_floor = 16;
    double probe_s = 1;          ///< Measured seconds per probe.
    double probe_drain_s = 0.2;  ///< A probe whose RPCs take longer to drain fails anyway.
    uint32_t max_probes = 8;
    double resolution = 0.05;            ///< Stop when (fail - pass) <= resolution x fail.
    uint32_t estimate_outstanding = 64;  ///< The scale of the search: a closed loop's rate at
    double estimate_s = 0.3;             ///< this many outstanding, measured this long.
    double start_fraction = 0.25;        ///< First probe: this share of the estimate (from
                                         ///< below: a collapse leaves damage behind).
    double reference_fraction = 0.02;    ///< The unloaded reference's rate: this share.
    /** The unloaded reference is measured as up to this many consecutive open loops, each
     *  with at least reference_window_arrivals arrivals expected (one window below that), and
     *  combined by combine_reference_windows. */
    uint32_t reference_windows = 5;
    uint32_t reference_window_arrivals = 1000;
    /** After each run, idle polling until the client's engine has seen no packet for
     *  settle_quiet_s. After a failed probe, also short checks at the reference rate until one
     *  passes (the host is back), for at most recover_max_s: a host that a probe pushed over
     *  the edge may stay broken (issue 12's bad equilibrium), and the report says so. */
    double settle_quiet_s = 0.02;
    double settle_max_s = 1;
    double check_s = 0.1;
    double recover_max_s = 3;
    /** If set, the reference and every probe are judged by the latency of their RPCs that met
     *  no absence of either end's lcore (merged_absences, latency_without_gaps): it appends
     *  every gap of the client's and the server's lcores so far to its argument. On a host
     *  whose lcores are away 1-3 % of the time, in gaps up to tens of ms, those absences set
     *  an open loop's p99 at any load (docs/perf.md, "Tails and the lcores' gaps"), and with
     *  it the reference and the bound, too strict in one run and too loose in the next.
     *  Unset: all RPCs. */
    std::function<void(std::vector<GapInterval> *)> gaps;
    /** ... where a gap counts when the lcore was away at least this long in it (away_cycles)
     *  ... */
    uint64_t gap_min_ns = 50'000;
    /** ... allowing this long for each frame the lcore handled in it: what a frame costs a
     *  saturated worker on our guests at most (about 0.2 us at W4's knee, 0.2-0.5 us at W1's,
     *  where each frame is a message; 0: every gap counts whole). More would take absences
     *  with a few frames in them for work (docs/perf.md, "Gaps that were work"). */
    uint64_t gap_frame_ns = 500;
    /** ... and a probe fails when more than this share of its RPCs met an absence: the host's
     *  absences of 50 us reach 1-4 % of an open loop's short RPCs on our guests, and a probe
     *  whose judged RPCs leave out more is judged on too few (an absence inside a busy poll can
     *  still pass the frames' allowance) ... */
    double max_gap_share = 0.05;
    /** ... or, where more, this many times the unloaded reference's own share: a workload
     *  whose RPCs last long meets the host's absences more often at any load (W5's messages
     *  of 1-10 MB take about 0.7 ms; on the forty-ninth session's host 18-22 % of its
     *  reference met one, and every probe failed a fixed 5 %). Load that lengthens the RPCs
     *  raises the share past this; the latency bounds judge the rest. */
    double gap_share_factor = 2;
};

struct CapacityProbe {
    double offered_rps = 0;   ///< The Poisson rate asked for.
    double arrivals_rps = 0;  ///< Arrivals that really came, per second of the window.
    double achieved_rps = 0;  ///< Measured completions per second (PhaseResult::elapsed_s).
    uint64_t p50_ns = 0;
    uint64_t p99_ns = 0;
    uint64_t errors = 0, skips = 0, unfinished = 0;
    uint64_t queued_mid = 0, queued_end = 0;  ///< PhaseResult::queued_* of the probe.
    /** With CapacityConfig::gaps: p50_ns / p99_ns are of the RPCs that met no gap, these of
     *  all of them, and met_gap counts the others. */
    uint64_t p50_all_ns = 0, p99_all_ns = 0, met_gap = 0;
    bool pass = false;
    std::string why;        ///< Why it failed ("" if it passed).
    double settle_s = 0;    ///< How long the host took to be back afterwards ...
    bool recovered = true;  ///< ... if it was back at all (false: later probes ran on a
                            ///< host that had not recovered).
};

struct CapacityResult {
    std::string workload;
    double mean_bytes = 0;
    uint64_t closed_unloaded_p99_ns = 0;  ///< One RPC at a time (for comparison only).
    double reference_rps = 0;             ///< The open-loop rate of the unloaded reference.
    UnloadedLatency unloaded;             ///< Its p50 and p99: what the bounds are multiples of.
    std::vector<UnloadedLatency> reference_windows;  ///< Each window's, in order.
    bool without_gaps = false;  ///< Latencies of the RPCs that met no gap (CapacityConfig::gaps).
    uint64_t gap_min_ns = 0;    ///< The shortest absence that counted,
    uint64_t gap_frame_ns = 0;  ///< with this allowed per frame (CapacityConfig).
    double p99_factor = 0;
    double p50_factor = 0;
    double min_achieved = 0;
    double estimate_rps = 0;  ///< The closed-loop rate that scales the search.
    std::vector<CapacityProbe> probes;
    double knee_rps = 0;   ///< Highest passing offered rate (0: none passed).
    std::string why_none;  ///< Why there is no knee, when there is none.
    bool found() const noexcept { return knee_rps > 0; }
    /** Request load at the knee, Gbps (what --load_gbps means). */
    double knee_gbps() const noexcept { return knee_rps * mean_bytes * 8 / 1e9; }
};

/** Searches the knee for `base` (workload, in-flight cap, backlog, seed, verify);
 *  `closed_unloaded_p99_ns` is only reported. Prints each step to stderr as it goes. */
CapacityResult find_capacity(LoadDriver &driver, const PhaseSpec &base, const CapacityConfig &cfg,
                             uint64_t closed_unloaded_p99_ns, const std::atomic<bool> &quit);

/** A probe's RPCs split by the poll gaps they met (CapacityConfig::gaps). */
struct GapSplit {
    UnloadedLatency clear_latency;  ///< Of the RPCs that met no gap.
    uint64_t clear = 0, met = 0;    ///< How many did not, and did.
};

/** Judges one open-loop probe against the knee's criteria (fills pass and why). With `split`,
 *  p50 and p99 are those of its RPCs that met no gap, and more than max_gap_share of its RPCs
 *  meeting one (or gap_share_factor x unloaded.gap_share, where more) fails it. */
CapacityProbe judge_probe(const PhaseResult &r, double offered_rps, const UnloadedLatency &unloaded,
                          const CapacityConfig &cfg, const GapSplit *split = nullptr);

/** The share of a probe's RPCs that may meet an absence: max_gap_share, or gap_share_factor x
 *  the reference's own share where that is more. */
double gap_share_limit(const CapacityConfig &cfg, const UnloadedLatency &unloaded);

}  // namespace homa::perf
