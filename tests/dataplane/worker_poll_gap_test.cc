// A poll that begins long after the one before is a gap (WorkerConfig::poll_gap_ns): counted,
// summed, its longest kept, and logged into a caller's memory until it is full, the
// rest counted as not logged, each entry with the frames handled in it; with the threshold at
// 0 nothing is counted.
#include <gtest/gtest.h>
#include <rte_cycles.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/dataplane/wire_harness.h"

namespace homa {
namespace {

using test::kArpForSomeoneElse;
using test::Wire;

Wire gap_wire(const std::string &name, uint64_t gap_ns) {
    return Wire(name, [gap_ns](dp::WorkerConfig &c) { c.poll_gap_ns = gap_ns; });
}

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

TEST(WorkerPollGap, APollBegunLateIsCountedSummedAndLogged) {
    Wire wire = gap_wire("gap1", 5'000'000);  // 5 ms: a poll itself never takes that long here
    ASSERT_EQ(wire.error, "");
    dp::Worker &w = wire.worker();
    dp::PollGap entries[1];
    std::atomic<uint64_t> count{0};
    w.set_gap_log({entries, 1, &count});
    w.poll();  // the first poll may come late after set-up: start counting after it
    w.clear_stats();
    const uint64_t before = rte_get_tsc_cycles();
    count = 0;
    std::vector<dp::PollGap> log;
    pause_ms(20);
    w.poll();
    const uint64_t after = rte_get_tsc_cycles();
    log.assign(entries, entries + count.load());
    EXPECT_EQ(w.stats().poll_gaps, 1u);
    EXPECT_GE(w.stats().poll_gap_ns, 20'000'000u);
    EXPECT_EQ(w.stats().poll_gap_max_ns, w.stats().poll_gap_ns);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_LE(log[0].start_tsc, before);
    EXPECT_GE(log[0].end_tsc - log[0].start_tsc, rte_get_tsc_hz() / 50);  // >= 20 ms
    EXPECT_LE(log[0].end_tsc, after);
    EXPECT_EQ(log[0].frames, 0u);  // nothing to do: the lcore was away (here: asleep)
    // A second gap finds the log full: counted, not logged, the count not raised.
    pause_ms(10);
    w.poll();
    EXPECT_EQ(w.stats().poll_gaps, 2u);
    EXPECT_EQ(w.stats().poll_gaps_not_logged, 1u);
    EXPECT_EQ(count.load(), 1u);
    EXPECT_GE(w.stats().poll_gap_ns, 30'000'000u);
    EXPECT_GE(w.stats().poll_gap_max_ns, 20'000'000u);
    EXPECT_LT(w.stats().poll_gap_max_ns, w.stats().poll_gap_ns);
    w.set_gap_log({});
}

// The frames a worker handles between two polls' starts are the work a gap may have been: a
// poll that reads 5 frames and then comes back late logs them with its gap; the next gap,
// after an empty poll, logs none.
TEST(WorkerPollGap, AGapCarriesTheFramesHandledInIt) {
    Wire wire =
        gap_wire("gap4", 50'000'000);  // 50 ms: longer than any stall between two polls here
    ASSERT_EQ(wire.error, "");
    dp::Worker &w = wire.worker();
    dp::PollGap entries[2];
    std::atomic<uint64_t> count{0};
    w.set_gap_log({entries, 2, &count});
    w.poll();
    for (int i = 0; i < 5; ++i) wire.inject(kArpForSomeoneElse);
    w.poll();  // reads the 5 frames
    EXPECT_EQ(w.stats().rx_frames, 5u);
    pause_ms(80);
    w.poll();  // the gap began with the poll that read them
    pause_ms(80);
    w.poll();
    ASSERT_EQ(count.load(), 2u);
    EXPECT_EQ(entries[0].frames, 5u);
    EXPECT_EQ(entries[1].frames, 0u);
    // Counters cleared in between: the next gap counts from zero, not from before.
    for (int i = 0; i < 3; ++i) wire.inject(kArpForSomeoneElse);
    w.poll();
    w.clear_stats();
    count = 0;
    pause_ms(80);
    w.poll();
    ASSERT_EQ(count.load(), 1u);
    EXPECT_EQ(entries[0].frames, 0u);
    w.set_gap_log({});
}

TEST(WorkerPollGap, PollsInARowAreNoGap) {
    Wire wire = gap_wire("gap2", 1'000'000'000);  // 1 s: no preemption of a test host is longer
    ASSERT_EQ(wire.error, "");
    dp::Worker &w = wire.worker();
    for (int i = 0; i < 100; ++i) w.poll();
    EXPECT_EQ(w.stats().poll_gaps, 0u);
    EXPECT_EQ(w.stats().poll_gap_ns, 0u);
}

TEST(WorkerPollGap, ThresholdZeroCountsNothing) {
    Wire wire = gap_wire("gap3", 0);
    ASSERT_EQ(wire.error, "");
    dp::Worker &w = wire.worker();
    EXPECT_EQ(w.poll_gap_threshold_ns(), 0u);
    w.poll();
    pause_ms(10);
    w.poll();
    EXPECT_EQ(w.stats().poll_gaps, 0u);
}

}  // namespace
}  // namespace homa
