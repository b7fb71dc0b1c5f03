// homa-perf's workload files and latency histogram.
#include "apps/common/workload.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "apps/perf/latency_histogram.h"

namespace homa::perf {
namespace {

using apps::Workload;

std::string dir() { return std::getenv("HOMA_WORKLOAD_DIR"); }

TEST(Workload, FixedSize) {
    Workload w;
    std::string err;
    ASSERT_TRUE(Workload::parse("1000", dir(), &w, &err)) << err;
    std::mt19937_64 rng(1);
    EXPECT_EQ(w.sample(rng), 1000u);
    EXPECT_EQ(w.mean_length(), 1000.0);
}

TEST(Workload, RejectsBadSizesAndFiles) {
    Workload w;
    std::string err;
    EXPECT_FALSE(Workload::parse("0", dir(), &w, &err));
    EXPECT_FALSE(Workload::parse("1000001", dir(), &w, &err));
    EXPECT_FALSE(Workload::parse("99999999999", dir(), &w, &err));
    EXPECT_FALSE(Workload::parse("w9", dir(), &w, &err));
    std::string bad = testing::TempDir() + "/bad_workload.txt";
    std::ofstream(bad) << "# comment\n100 0.5\nnot a line\n";
    EXPECT_FALSE(Workload::parse(bad, dir(), &w, &err));
    EXPECT_NE(err.find(":3:"), std::string::npos) << err;
}

TEST(Workload, ShippedFilesParseAndTruncate) {
    for (const char *name : {"w1", "w2", "w3", "w4", "w5"}) {
        Workload w;
        std::string err;
        ASSERT_TRUE(Workload::parse(name, dir(), &w, &err)) << err;
        EXPECT_GT(w.points(), 10u);
        std::mt19937_64 rng(7);
        for (int i = 0; i < 10000; ++i) {
            uint32_t len = w.sample(rng);
            ASSERT_GE(len, 1u);
            ASSERT_LE(len, 1'000'000u);  // W4/W5 go to 30 MB in the paper: truncated
        }
    }
}

TEST(Workload, SamplesFollowWeights) {
    std::string path = testing::TempDir() + "/two_point.txt";
    std::ofstream(path) << "10 3\n20 1\n";
    Workload w;
    std::string err;
    ASSERT_TRUE(Workload::parse(path, dir(), &w, &err)) << err;
    std::mt19937_64 rng(3);
    std::map<uint32_t, int> seen;
    for (int i = 0; i < 40000; ++i) ++seen[w.sample(rng)];
    EXPECT_NEAR(seen[10] / 40000.0, 0.75, 0.02);
    EXPECT_NEAR(w.mean_length(), 12.5, 1e-9);
}

TEST(LatencyHistogram, QuantilesWithinOnePercent) {
    LatencyHistogram h;
    for (uint64_t v = 1; v <= 100000; ++v) h.record(v);
    EXPECT_EQ(h.count(), 100000u);
    EXPECT_NEAR(double(h.quantile(0.5)), 50000, 500);
    EXPECT_NEAR(double(h.quantile(0.99)), 99000, 990);
    EXPECT_EQ(h.quantile(1.0), 100000u);
    EXPECT_EQ(h.quantile(0.0), 1u);
    EXPECT_EQ(h.min(), 1u);
}

TEST(LatencyHistogram, MergeAddsCounts) {
    LatencyHistogram a, b;
    a.record(10);
    b.record(1'000'000);
    a.merge(b);
    EXPECT_EQ(a.count(), 2u);
    EXPECT_EQ(a.max(), 1'000'000u);
    EXPECT_EQ(a.quantile(0.0), 10u);
}

}  // namespace
}  // namespace homa::perf
