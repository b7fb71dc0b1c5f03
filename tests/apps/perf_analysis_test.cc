// homa-perf's arithmetic, on made-up inputs: errors counted by cause, the knee's pass/fail
// criteria for one probe, and the overload step's sliding-window recovery time.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/perf/capacity_search.h"
#include "apps/perf/error_counts.h"
#include "apps/perf/overload_step.h"
#include "apps/perf/ticks_to_ns.h"

namespace homa::perf {
namespace {

// An RTT of 20 s must read as 20 s: ticks * 10^9 overflowed 64 bits past 8.8 s at 2.1 GHz and
// such an RPC was recorded as taking about 0.1 s.
TEST(TicksToNs, LongIntervalsDoNotWrapAndShortOnesAreExactToTheNanosecond) {
    __extension__ typedef unsigned __int128 Wide;
    for (uint64_t hz : {uint64_t{2'100'000'000}, uint64_t{2'994'372'000}, uint64_t{1'000'000'000},
                        uint64_t{3'333'333'333}, uint64_t{25'000'000}}) {
        const TicksToNs to_ns(hz);
        for (uint64_t seconds : {0ull, 1ull, 9ull, 20ull, 3600ull}) {
            for (uint64_t extra : {0ull, 1ull, 12'345ull, 987'654'321ull}) {
                const uint64_t ticks = seconds * hz + extra;
                const auto exact = static_cast<uint64_t>(Wide{ticks} * 1'000'000'000 / hz);
                const uint64_t got = to_ns(ticks);
                EXPECT_LE(got, exact) << hz << " " << ticks;
                EXPECT_GE(got + 1, exact) << hz << " " << ticks;
            }
        }
        EXPECT_GE(to_ns(20 * hz) + 1, 20'000'000'000u) << hz;
        EXPECT_LE(to_ns(20 * hz), 20'000'000'000u) << hz;
    }
}

std::string json_of(const ErrorCounts &e) {
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    e.print_json(f);
    fclose(f);
    std::string s(buf, len);
    free(buf);
    return s;
}

TEST(ErrorCounts, SplitsByCauseAndAlwaysShowsTheUsualFour) {
    ErrorCounts e;
    EXPECT_EQ(e.describe(), "none");
    EXPECT_EQ(json_of(e), "{\"ETIMEDOUT\": 0, \"ENOMEM\": 0, \"ENOBUFS\": 0, \"EIO\": 0}");
    e.add(-ETIMEDOUT);
    e.add(-ETIMEDOUT);
    e.add(ENOBUFS);  // either sign
    e.add(0);        // not an error
    e.add(-EPROTO);
    e.add(-100000);  // beyond the table: "other"
    EXPECT_EQ(e.total(), 5u);
    EXPECT_EQ(e.of(ETIMEDOUT), 2u);
    EXPECT_EQ(e.of(-ENOBUFS), 1u);
    EXPECT_EQ(e.of(ENOMEM), 0u);
    const std::string d = e.describe();
    for (const char *want : {"ETIMEDOUT 2", "ENOBUFS 1", "EPROTO 1", "other 1"}) {
        EXPECT_NE(d.find(want), std::string::npos) << want << " not in " << d;
    }
    const std::string j = json_of(e);
    for (const char *want : {"\"ETIMEDOUT\": 2", "\"ENOMEM\": 0", "\"ENOBUFS\": 1", "\"EIO\": 0",
                             "\"EPROTO\": 1", "\"other\": 1"}) {
        EXPECT_NE(j.find(want), std::string::npos) << want << " not in " << j;
    }
    ErrorCounts m;
    m.add(-EIO);
    m.merge(e);
    EXPECT_EQ(m.total(), 6u);
    EXPECT_EQ(m.of(EIO), 1u);
    EXPECT_EQ(m.of(ETIMEDOUT), 2u);
}

// n measured RPCs that all arrived in a 1 s window and completed in it.
PhaseResult probe_result(uint64_t n, uint64_t rtt_ns) {
    PhaseResult r;
    r.rpcs = r.arrivals = n;
    r.window_s = r.elapsed_s = 1.0;
    for (uint64_t i = 0; i < n; ++i) r.rtt.record(rtt_ns);
    return r;
}

TEST(KneeCriteria, PassOnlyWithBoundedP99AndNothingLost) {
    CapacityConfig cfg;  // p99 and p50 <= 10 x unloaded, served >= 95 %
    const UnloadedLatency unloaded{10'000, 10'000};
    EXPECT_TRUE(judge_probe(probe_result(1000, 50'000), 1000, unloaded, cfg).pass);
    CapacityProbe p = judge_probe(probe_result(1000, 200'000), 1000, unloaded, cfg);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("p99"), std::string::npos) << p.why;

    // The 99th percentile, not the mean: 2 % slow fails, 0.5 % slow passes.
    PhaseResult tail = probe_result(980, 20'000);
    for (int i = 0; i < 20; ++i) tail.rtt.record(1'000'000);
    EXPECT_FALSE(judge_probe(tail, 1000, unloaded, cfg).pass);
    PhaseResult rare = probe_result(995, 20'000);
    for (int i = 0; i < 5; ++i) rare.rtt.record(1'000'000);
    EXPECT_TRUE(judge_probe(rare, 1000, unloaded, cfg).pass);

    PhaseResult skipped = probe_result(1000, 20'000);
    skipped.overload_skips = 1;
    p = judge_probe(skipped, 1000, unloaded, cfg);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("skipped"), std::string::npos) << p.why;

    PhaseResult failed = probe_result(1000, 20'000);
    failed.response_errors.add(-ETIMEDOUT);
    EXPECT_FALSE(judge_probe(failed, 1000, unloaded, cfg).pass);
    PhaseResult refused_send = probe_result(1000, 20'000);
    refused_send.send_errors.add(-EINVAL);
    EXPECT_FALSE(judge_probe(refused_send, 1000, unloaded, cfg).pass);
    PhaseResult bad_bytes = probe_result(1000, 20'000);
    bad_bytes.verify_failures = 1;
    EXPECT_FALSE(judge_probe(bad_bytes, 1000, unloaded, cfg).pass);

    PhaseResult unfinished = probe_result(1000, 20'000);
    unfinished.unfinished = 3;
    EXPECT_FALSE(judge_probe(unfinished, 1000, unloaded, cfg).pass);

    // Everything completed, but it took 1.1 s to serve what arrived in 1 s: 91 % < 95 %.
    PhaseResult slow = probe_result(1000, 20'000);
    slow.elapsed_s = 1.1;
    p = judge_probe(slow, 1000, unloaded, cfg);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("served"), std::string::npos) << p.why;
    EXPECT_FALSE(judge_probe(PhaseResult{}, 1000, unloaded, cfg).pass);  // nothing completed
}

// A host that stalls sets the unloaded p99 (here 5 ms against a 10 us median): a probe with a
// standing queue keeps its p99 under 10x that, and only its median shows the queue.
TEST(KneeCriteria, MedianBoundCatchesAStandingQueueUnderAStallSetP99) {
    CapacityConfig cfg;
    const UnloadedLatency stalled{10'000, 5'000'000};
    PhaseResult queued = probe_result(1000, 150'000);  // every RPC 150 us: 15x the median
    CapacityProbe p = judge_probe(queued, 1000, stalled, cfg);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("p50 150"), std::string::npos) << p.why;
    EXPECT_EQ(p.p50_ns / 1000, 150u);
    EXPECT_TRUE(judge_probe(probe_result(1000, 90'000), 1000, stalled, cfg).pass);  // 9x
    cfg.p50_factor = 0;  // --knee_p50_factor=0: the p99 bound alone, which this probe meets
    EXPECT_TRUE(judge_probe(queued, 1000, stalled, cfg).pass);
}

// The unloaded reference from its windows: a host stall that raised one window's p99 50x must
// not set the knee's bounds (the forty-sixth session's full bench, 2026-12-07: W1's reference p99
// 1,004 us, 50x the run before, let the search pass 1.58 M RPC/s, which the host then could not
// hold at 80 or 90 %: 166,522 arrivals skipped).
TEST(KneeCriteria, ReferenceIsTheMedianOfItsWindowsNotTheStalledOne) {
    std::vector<UnloadedLatency> w = {
        {2'000, 20'000}, {2'100, 1'000'000}, {1'900, 21'000}, {2'000, 19'000}, {2'050, 22'000}};
    UnloadedLatency r = combine_reference_windows(w);
    EXPECT_EQ(r.p99_ns, 21'000u);
    EXPECT_EQ(r.p50_ns, 2'000u);
    // Two windows: the lower; one: itself; none: zeros.
    EXPECT_EQ(combine_reference_windows({{2'000, 1'000'000}, {2'100, 20'000}}).p99_ns, 20'000u);
    EXPECT_EQ(combine_reference_windows({{2'000, 1'000'000}}).p99_ns, 1'000'000u);
    EXPECT_EQ(combine_reference_windows({}).p99_ns, 0u);
    // What it changes: a probe at 5 ms p99 fails against the median and passed against the
    // stalled window (10 x 1 ms).
    CapacityConfig cfg;
    PhaseResult probe = probe_result(1000, 5'000);
    for (int i = 0; i < 30; ++i) probe.rtt.record(5'000'000);  // 3 % at 5 ms
    EXPECT_FALSE(judge_probe(probe, 1000, r, cfg).pass);
    EXPECT_TRUE(judge_probe(probe, 1000, {2'100, 1'000'000}, cfg).pass);
}

// The RPCs that met an absence, taken out of the knee's latencies (--knee_without_gaps): a
// TSC of one cycle per ns from 1,000,000; an RPC overlapping a gap of either end is left out,
// warm-up arrivals and failed RPCs are never counted.
TEST(KneeWithoutGaps, RpcsThatMetAGapAreLeftOutOfTheLatency) {
    EXPECT_TRUE(merge_gaps({}).empty());
    std::vector<GapInterval> m = merge_gaps({{500, 600}, {100, 200}, {150, 300}, {300, 350}});
    ASSERT_EQ(m.size(), 2u);  // touching or overlapping gaps are one
    EXPECT_EQ(m[0].start_tsc, 100u);
    EXPECT_EQ(m[0].end_tsc, 350u);
    EXPECT_EQ(m[1].start_tsc, 500u);

    ArrivalLog log;
    log.start_tsc = 1'000'000;
    log.arrivals = {{500, 1'000, 100, Outcome::kCompleted},     // warm-up: out
                    {2'000, 1'000, 100, Outcome::kCompleted},   // clear
                    {10'000, 2'000, 100, Outcome::kCompleted},  // clear
                    {20'000, 9'000, 100, Outcome::kCompleted},  // over the gap at 25-27 us
                    {40'000, 4'000, 100, Outcome::kCompleted},  // over the gap at 42-50 us
                    {50'500, 3'000, 100, Outcome::kCompleted},  // after it: clear
                    {60'000, 0, 100, Outcome::kError}};         // failed: out
    const std::vector<GapInterval> gaps =
        merge_gaps({{1'025'000, 1'027'000}, {1'042'000, 1'050'000}});
    uint64_t clear = 0, met = 0;
    UnloadedLatency l = latency_without_gaps(log, 1'000, 1.0, gaps, &clear, &met);
    EXPECT_EQ(clear, 3u);
    EXPECT_EQ(met, 2u);
    EXPECT_EQ(l.p50_ns, 2'000u);
    EXPECT_EQ(l.p99_ns, 3'000u);
    // Without gaps every completed RPC counts: the p99 is the 9 us one.
    l = latency_without_gaps(log, 1'000, 1.0, {}, &clear, &met);
    EXPECT_EQ(clear, 5u);
    EXPECT_EQ(met, 0u);
    EXPECT_EQ(l.p99_ns, 9'000u);
    // At 2 cycles per ns the RPCs sit elsewhere on the TSC: only the one at 20 us
    // (1,040,000-1,058,000) meets a gap, the second.
    l = latency_without_gaps(log, 1'000, 2.0, gaps, &clear, &met);
    EXPECT_EQ(met, 1u);
    EXPECT_EQ(clear, 4u);
}

// A gap is the time between two polls' starts: the frames handled in it explain part of it
// (a long poll of the worker's own), and only what they do not is an absence of the lcore.
TEST(KneeWithoutGaps, OnlyTheTimeNoFrameExplainsIsAnAbsence) {
    EXPECT_EQ(away_cycles({1'000, 61'000, 0}, 1'000), 60'000u);          // nothing done: all away
    EXPECT_EQ(away_cycles({1'000, 61'000, 20}, 1'000), 40'000u);         // 20 frames: 20 us of work
    EXPECT_EQ(away_cycles({1'000, 61'000, 60}, 1'000), 0u);              // all of it work
    EXPECT_EQ(away_cycles({1'000, 61'000, UINT64_MAX / 2}, 1'000), 0u);  // saturates
    EXPECT_EQ(away_cycles({1'000, 61'000, 60}, 0), 60'000u);  // no allowance: the whole gap
    // At 50 us: the idle gap and the one half explained count, the busy poll does not; the
    // two that count touch and are merged.
    const std::vector<GapInterval> m =
        merged_absences({{100'000, 190'000, 500},  // a poll of 500 frames: work
                         {200'000, 260'000, 0},    // away 60 us
                         {260'000, 400'000, 80}},  // 140 us, 80 of them work: away 60
                        50'000, 1'000);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].start_tsc, 200'000u);
    EXPECT_EQ(m[0].end_tsc, 400'000u);
    EXPECT_EQ(merged_absences({{200'000, 240'000, 0}}, 50'000, 1'000).size(), 0u);  // too short
    EXPECT_EQ(merged_absences({{100'000, 190'000, 500}}, 50'000, 0).size(), 1u);    // counted whole
}

// With a split, the probe is judged on the RPCs that met no gap, and fails when too many met
// one (an overloaded worker's long polls, not the host's absences).
TEST(KneeWithoutGaps, ProbeJudgedOnTheClearRpcsAndFailsWhenTooManyMetAGap) {
    CapacityConfig cfg;
    const UnloadedLatency unloaded{10'000, 20'000};
    PhaseResult probe = probe_result(1000, 10'000);
    for (int i = 0; i < 30; ++i) probe.rtt.record(5'000'000);  // 3 % met a 5 ms absence
    EXPECT_FALSE(judge_probe(probe, 1000, unloaded, cfg).pass);
    GapSplit split{{10'000, 12'000}, 970, 30};
    CapacityProbe p = judge_probe(probe, 1000, unloaded, cfg, &split);
    EXPECT_TRUE(p.pass) << p.why;
    EXPECT_EQ(p.p99_ns, 12'000u);
    EXPECT_GE(p.p99_all_ns, 4'000'000u);
    EXPECT_EQ(p.met_gap, 30u);
    split = {{10'000, 12'000}, 800, 200};  // 20 %: more than max_gap_share
    p = judge_probe(probe, 1000, unloaded, cfg, &split);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("met an absence"), std::string::npos) << p.why;
    split = {{}, 0, 1000};  // none clear: judged on all of them, and the share fails it anyway
    EXPECT_FALSE(judge_probe(probe, 1000, unloaded, cfg, &split).pass);
}

// A workload whose RPCs last long meets the host's absences more often even unloaded (W5 on
// the forty-ninth session's host: 18-22 % of its reference). The share a probe may have
// follows the reference's, gap_share_factor times it, and never drops below max_gap_share.
TEST(KneeWithoutGaps, TheShareAProbeMayHaveFollowsTheReferences) {
    CapacityConfig cfg;
    PhaseResult probe = probe_result(1000, 10'000);
    const GapSplit split{{10'000, 12'000}, 900, 100};  // 10 % met an absence
    UnloadedLatency unloaded{10'000, 20'000};
    unloaded.gap_share = 0.01;  // short RPCs: the fixed 5 % holds
    CapacityProbe p = judge_probe(probe, 1000, unloaded, cfg, &split);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("(at most 5.0 %)"), std::string::npos) << p.why;
    unloaded.gap_share = 0.08;  // long RPCs: up to 16 %
    p = judge_probe(probe, 1000, unloaded, cfg, &split);
    EXPECT_TRUE(p.pass) << p.why;
    const GapSplit more{{10'000, 12'000}, 800, 200};  // 20 %: past twice the reference's 8 %
    p = judge_probe(probe, 1000, unloaded, cfg, &more);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("(at most 16.0 %)"), std::string::npos) << p.why;
}

// A probe sliding into backlog: every latency bounded and everything served, but the queue
// grows across the second half. 20,000 arrivals: the bound is 1 % of 10,000 plus 16 = 116.
TEST(KneeCriteria, FailsWhenTheQueueGrowsAcrossTheSecondHalf) {
    CapacityConfig cfg;
    const UnloadedLatency unloaded{10'000, 10'000};
    PhaseResult steady = probe_result(20'000, 50'000);
    steady.queued_mid = 40;
    steady.queued_end = 150;  // noise: 110 more, within the bound
    EXPECT_TRUE(judge_probe(steady, 20'000, unloaded, cfg).pass);
    steady.queued_end = 20;  // a queue that shrinks is fine too
    EXPECT_TRUE(judge_probe(steady, 20'000, unloaded, cfg).pass);

    PhaseResult sliding = probe_result(20'000, 50'000);
    sliding.queued_mid = 96;
    sliding.queued_end = 494;  // W4 at 18.7 k RPC/s, seconds 2 and 3 of a run
    CapacityProbe p = judge_probe(sliding, 20'000, unloaded, cfg);
    EXPECT_FALSE(p.pass);
    EXPECT_NE(p.why.find("queue grew from 96 to 494"), std::string::npos) << p.why;
    EXPECT_EQ(p.queued_mid, 96u);
    EXPECT_EQ(p.queued_end, 494u);

    cfg.max_growth = 0.05;  // --knee_max_growth: 5 % of 10,000 plus 16 = 516
    EXPECT_TRUE(judge_probe(sliding, 20'000, unloaded, cfg).pass);
}

// A made-up overload step: an arrival every 100 us for 850 ms (300 before, 50 step, 500
// after); latency 10 us, except `slow_from`..`slow_until` (ms), where it is 1 ms.
ArrivalLog step_log(double slow_from_ms, double slow_until_ms, uint32_t length = 100) {
    ArrivalLog log;
    for (uint64_t t = 0; t < 850'000'000; t += 100'000) {
        bool slow = t >= uint64_t(slow_from_ms * 1e6) && t < uint64_t(slow_until_ms * 1e6);
        log.arrivals.push_back({t, slow ? 1'000'000u : 10'000u, length, Outcome::kCompleted});
    }
    return log;
}

OverloadResult analysed(const ArrivalLog &log) {
    OverloadResult r;  // default config: 300 ms, 50 ms step, 500 ms, recovery at 2 x baseline
    r.window_s = 0.01;
    analyse_overload(log, &r);
    return r;
}

TEST(OverloadAnalysis, RecoveryIsWhenEveryLaterWindowIsBackNearTheBaseline) {
    // Slow until 400 ms, 50 ms after the step's end. Windows slide by 1 ms; the last one with
    // slow arrivals in it starts at 399 ms, so every window from 400 ms on is fine: 50 ms.
    OverloadResult r = analysed(step_log(300, 400));
    EXPECT_EQ(r.baseline_p99_ns, 10'000u);
    EXPECT_TRUE(r.short_only);
    EXPECT_NEAR(r.recovery_ms, 50.0, 0.01);
    EXPECT_NEAR(r.peak_p99_ms, 1.0, 1e-9);
    ASSERT_FALSE(r.series.empty());
    EXPECT_EQ(r.series.front().first, 0.0);  // windows are timed from the step's start
}

TEST(OverloadAnalysis, NoHarmMeansZeroAndLateHarmMeansNotRecovered) {
    EXPECT_EQ(analysed(step_log(0, 0)).recovery_ms, 0.0);
    // Slow again at the very end: the last windows are bad, so it never stayed recovered.
    EXPECT_LT(analysed(step_log(830, 850)).recovery_ms, 0.0);
}

TEST(OverloadAnalysis, LostArrivalsCountAsInfinitelyLate) {
    ArrivalLog one = step_log(0, 0);
    one.arrivals[3600].outcome = Outcome::kError;  // 1 of the 100 in each window holding it:
    EXPECT_EQ(analysed(one).recovery_ms, 0.0);     // above its 99th percentile, not at it
    ArrivalLog log = step_log(0, 0);
    // Five arrivals skipped right after the step: the windows holding them have no finite
    // p99, so recovery only comes after them (and the peak is "lost").
    for (size_t i = 3600; i < 3605; ++i) log.arrivals[i].outcome = Outcome::kSkipped;  // 360 ms
    OverloadResult r = analysed(log);
    EXPECT_GT(r.recovery_ms, 10.0);
    EXPECT_LT(r.peak_p99_ms, 0.0);
    bool lost_window = false;
    for (const auto &[t, p99] : r.series) lost_window |= p99 < 0;
    EXPECT_TRUE(lost_window);
}

TEST(OverloadAnalysis, ABaselineThatFailedGivesNoRecoveryTime) {
    ArrivalLog log = step_log(0, 0);
    for (size_t i = 1000; i < 1100; ++i) log.arrivals[i].outcome = Outcome::kError;  // 100-110 ms
    OverloadResult r = analysed(log);
    EXPECT_TRUE(r.baseline_lost);
    EXPECT_EQ(r.baseline_p99_ns, 0u);
    EXPECT_LT(r.recovery_ms, 0.0);
}

TEST(OverloadAnalysis, DrainTimeIsTheFirstWindowBackAndLaterStallsAreCountedBesideTheBaselines) {
    // The step's queue is gone at 400 ms (as in the first test), and the host stalls for 2 ms
    // at 150 ms (baseline) and at 600 ms (after the drain): the stall keeps the strict recovery
    // time out to 602 ms, while the drain time stays at 50 ms, and the windows the stall spoils
    // show up alike before and after.
    ArrivalLog log = step_log(300, 400);
    for (Arrival &x : log.arrivals) {
        bool stall = (x.scheduled_ns >= 150'000'000 && x.scheduled_ns < 152'000'000) ||
                     (x.scheduled_ns >= 600'000'000 && x.scheduled_ns < 602'000'000);
        if (stall) x.latency_ns = 2'000'000;
    }
    OverloadResult r = analysed(log);
    EXPECT_EQ(r.baseline_p99_ns, 10'000u);  // 20 slow of 2,000: the p99 itself is not hit
    EXPECT_NEAR(r.recovery_ms, 252.0, 0.01);
    EXPECT_NEAR(r.drain_ms, 50.0, 0.01);
    // 100 arrivals per window: 20 slow ones spoil every window that holds at least 2 of them,
    // windows starting 141..151 ms: 11 of the baseline's 191 (100..290 ms).
    EXPECT_EQ(r.baseline_windows, 191u);
    EXPECT_EQ(r.baseline_windows_over, 11u);
    EXPECT_EQ(r.after_drain_windows, 440u);  // starting 401..840 ms
    EXPECT_EQ(r.after_drain_over, 11u);

    OverloadResult never = analysed(step_log(300, 850));  // slow to the end: never drained
    EXPECT_LT(never.drain_ms, 0.0);
    EXPECT_EQ(never.after_drain_windows, 0u);
    EXPECT_EQ(analysed(step_log(0, 0)).drain_ms, 0.0);
}

TEST(OverloadAnalysis, WorkloadWithoutShortMessagesWatchesItsShortestSizeClass) {
    OverloadResult one = analysed(step_log(300, 400, 50'000));
    EXPECT_FALSE(one.short_only);
    EXPECT_EQ(one.watched_bytes, 100'000u);  // the decade of its shortest message
    EXPECT_NEAR(one.recovery_ms, 50.0, 0.01);
    EXPECT_NEAR(one.window_s, 0.01, 1e-12);  // every arrival watched: 100 per 10 ms already

    // As W5 with a fixed seed: every other message is 5 kB (10 us, slow 300-400 ms like the
    // others), the rest 5 MB, whose RTTs (3 ms) all fall after the step. Their p99 would be
    // the windows' p99 and never come back to a baseline that had none of them.
    ArrivalLog log = step_log(300, 400, 5'000);
    for (size_t i = 1; i < log.arrivals.size(); i += 2) {
        Arrival &x = log.arrivals[i];
        x.length = 5'000'000;
        if (x.scheduled_ns >= 350'000'000) x.latency_ns = 3'000'000;
    }
    OverloadResult r = analysed(log);
    EXPECT_FALSE(r.short_only);
    EXPECT_EQ(r.watched_bytes, 10'000u);
    EXPECT_EQ(r.baseline_p99_ns, 10'000u);
    // Half the arrivals watched, one per 200 us: windows of 20 ms hold 100 of them.
    EXPECT_NEAR(r.window_s, 0.02, 1e-9);
    // The last window holding a slow 5 kB arrival starts at 399 ms: recovered 50 ms after.
    EXPECT_NEAR(r.recovery_ms, 50.0, 0.01);
    EXPECT_EQ(r.after_drain_over, 0u);
}

}  // namespace
}  // namespace homa::perf
