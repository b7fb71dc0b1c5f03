// The report's statistics (apps/sim/slowdown.cc): size buckets from a workload's CDF,
// nearest-rank percentiles, and the load a run sustained.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "apps/sim/slowdown.h"

namespace homa::sim {
namespace {

apps::Workload workload_from(const char *text) {
    char path[] = "/tmp/homa_sim_workload_XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    std::ofstream(path) << text;
    apps::Workload w;
    std::string err;
    EXPECT_TRUE(apps::Workload::parse(path, "", &w, &err)) << err;
    std::remove(path);
    return w;
}

TEST(Slowdown, DecileBoundsFollowTheCountCdfAndMergeRepeatedSizes) {
    // 50 % of messages are 100 B, 30 % 1000 B, 20 % 10000 B (given out of order).
    apps::Workload w = workload_from("1000 3\n100 5\n10000 2\n");
    EXPECT_EQ(decile_bounds(w), (std::vector<uint32_t>{100, 1000, 10000}));
    // Ten equally likely sizes: one bucket each.
    apps::Workload ten = workload_from("1 1\n2 1\n3 1\n4 1\n5 1\n6 1\n7 1\n8 1\n9 1\n10 1\n");
    EXPECT_EQ(decile_bounds(ten), (std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST(Slowdown, SmallestHalfEndsWhereTheCountCdfReachesHalf) {
    // 31 % of messages are 8 B, 11 % 11 B, 9 % 27 B, the rest larger: half are <= 27 B.
    apps::Workload w = workload_from("8 31\n11 11\n27 9\n79 10\n151 10\n503 29\n");
    EXPECT_EQ(length_at_fraction(w, 0.5), 27u);
    EXPECT_EQ(length_at_fraction(w, 0.3), 8u);
    EXPECT_EQ(length_at_fraction(w, 1.0), 503u);
}

TEST(Slowdown, NearestRankPercentiles) {
    std::vector<double> v;
    for (int i = 100; i >= 1; --i) v.push_back(i);
    Percentiles p = percentiles(v);
    EXPECT_EQ(p.p50, 50);
    EXPECT_EQ(p.p99, 99);
    EXPECT_EQ(percentiles({7}).p99, 7);
}

TEST(Slowdown, BucketsSplitByLengthAndCountEveryMessage) {
    std::vector<MessageSpec> m = {{0, 0, 1, 50}, {0, 0, 1, 100}, {0, 0, 1, 101}, {0, 0, 1, 5000}};
    std::vector<double> homa = {1, 2, 3, 4}, oracle = {1, 1, 1, 1};
    std::vector<uint32_t> bounds = {100, 1000};
    std::vector<Bucket> b = bucketize(bounds, m, homa, oracle);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[0].count, 2u);  // 50 and 100
    EXPECT_EQ(b[0].homa.p99, 2);
    EXPECT_EQ(b[1].count, 2u);  // 101, and 5000 (beyond the last bound) in the last bucket
    EXPECT_EQ(b[1].homa.p99, 4);
    ASSERT_TRUE(b[1].oracle.has_value());
}

TEST(Slowdown, LoadIsSustainedOnlyIfTheSecondHalfKeepsUpAndEverythingCompletes) {
    Topology t;
    t.hosts = 2;
    // One 1000-byte message every 10 us from host 0 for 1 ms.
    std::vector<MessageSpec> m;
    for (int i = 1; i <= 100; ++i) m.push_back({SimTime(i) * 10'000'000, 0, 1, 1000});
    std::vector<SimTime> prompt(m.size()), late(m.size());
    for (size_t i = 0; i < m.size(); ++i) {
        prompt[i] = m[i].arrival + 1'000'000;
        late[i] = i < 50 ? prompt[i] : m.back().arrival + 1;  // the second half after the window
    }
    LoadReport ok = load_report(t, m, prompt, 0.1);
    const double expected = 50.0 * t.rpc_wire_time(1000) / (double(m.back().arrival / 2) * 2);
    EXPECT_NEAR(ok.arrived, expected, 0.02 * expected);
    EXPECT_NEAR(ok.achieved, ok.arrived, 0.05 * ok.arrived);
    EXPECT_TRUE(ok.sustained);
    EXPECT_FALSE(load_report(t, m, late, 0.1).sustained);
    prompt[7] = 0;  // never completed
    LoadReport lost = load_report(t, m, prompt, 0.1);
    EXPECT_EQ(lost.incomplete, 1u);
    EXPECT_FALSE(lost.sustained);
}

}  // namespace
}  // namespace homa::sim
