// Per-workload priority levels (apps/sim/workload_priorities.cc) against hand-computed plans:
// levels split by the unscheduled share of the bytes, cutoffs at equal unscheduled bytes per
// level, leftovers to scheduled data; and W1 and W5 from config/workloads.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "apps/sim/workload_priorities.h"

namespace homa::sim {
namespace {

constexpr uint32_t kRest = 0xFFFFFFFFu;
using Cutoffs = std::array<uint32_t, 8>;

apps::Workload workload_from(const char *text) {
    char path[] = "/tmp/homa_sim_prio_workload_XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    std::ofstream(path) << text;
    apps::Workload w;
    std::string err;
    EXPECT_TRUE(apps::Workload::parse(path, "", &w, &err)) << err;
    std::remove(path);
    return w;
}

apps::Workload paper_workload(const char *name) {
    apps::Workload w;
    std::string err;
    const char *dir = std::getenv("HOMA_WORKLOAD_DIR");
    EXPECT_TRUE(apps::Workload::parse(name, dir ? dir : "config/workloads", &w, &err)) << err;
    return w;
}

TEST(WorkloadPriorities, AllUnscheduledBytesShareEqualLevelsAndLeftoversAreScheduled) {
    // Eight equally likely lengths 100..800, all under unsched_bytes: every byte unscheduled,
    // 8 levels wanted, 450 bytes (per message) each. Running sums 100, 300, 600 close level 7
    // at 300 B; the next share ends at 1,050: 1,000, 1,500 close level 6 at 500 B; 2,100 level
    // 5 at 600 B (next 2,550); 2,800 level 4 at 700 B (next 3,250); 800 B is the rest, level 3.
    // Levels 2..0 carry no unscheduled bytes: scheduled data gets them.
    apps::Workload w = workload_from("800 1\n100 1\n200 1\n300 1\n400 1\n500 1\n600 1\n700 1\n");
    PriorityPlan p = workload_priorities(w, 15'000, 8);
    EXPECT_EQ(p.unsched_cutoffs, (Cutoffs{0, 0, 0, kRest, 700, 600, 500, 300}));
    EXPECT_EQ(p.max_sched_prio, 2);
    EXPECT_EQ(p.unsched_levels, 5);
    EXPECT_DOUBLE_EQ(p.unsched_fraction, 1.0);
}

TEST(WorkloadPriorities, LevelsAreSplitByTheUnscheduledShareOfBytes) {
    // Half the messages 1,000 B, half 100,000 B, 10,000 B unscheduled: unscheduled bytes are
    // (1,000 + 10,000) / 101,000 = 10.9 % of all, 0.87 of 8 levels: one unscheduled level
    // (every length), seven scheduled.
    apps::Workload w = workload_from("1000 1\n100000 1\n");
    PriorityPlan p = workload_priorities(w, 10'000, 8);
    EXPECT_NEAR(p.unsched_fraction, 11'000.0 / 101'000.0, 1e-12);
    EXPECT_EQ(p.unsched_cutoffs, (Cutoffs{0, 0, 0, 0, 0, 0, 0, kRest}));
    EXPECT_EQ(p.max_sched_prio, 6);
    // With 100 B unscheduled the share is 1,100 / 101,000: still at least one level.
    EXPECT_EQ(workload_priorities(w, 100, 8).unsched_levels, 1);
    // Half the bytes unscheduled (1,000 B and 3,000 B messages, 2,000 B unscheduled, 3,000 of
    // 4,000): 6 levels wanted, 500 B each; 1,000 B closes level 7, the 3,000 B message is the
    // rest on level 6; scheduled data gets 0..5.
    PriorityPlan half = workload_priorities(workload_from("1000 1\n3000 1\n"), 2'000, 8);
    EXPECT_EQ(half.unsched_cutoffs, (Cutoffs{0, 0, 0, 0, 0, 0, kRest, 1000}));
    EXPECT_EQ(half.max_sched_prio, 5);
}

TEST(WorkloadPriorities, FewerPrioritiesUseOnlyTheLowestLevels) {
    apps::Workload w = workload_from("800 1\n100 1\n200 1\n300 1\n400 1\n500 1\n600 1\n700 1\n");
    // Two levels, 1,800 bytes each: 100..600 sum to 2,100 and close level 1 at 600 B.
    PriorityPlan two = workload_priorities(w, 15'000, 2);
    EXPECT_EQ(two.unsched_cutoffs, (Cutoffs{kRest, 600, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(two.max_sched_prio, 0);
    PriorityPlan one = workload_priorities(w, 15'000, 1);
    EXPECT_EQ(one.unsched_cutoffs, (Cutoffs{kRest, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(one.max_sched_prio, 0);
}

// The plans docs/sim.md shows (unsched_bytes 15,664): W1 spreads its 200-3,000 B messages over
// six levels where Linux's cutoffs put them on one; W5, nearly all scheduled bytes, keeps one
// unscheduled level and gives seven to scheduled data.
TEST(WorkloadPriorities, PaperWorkloads) {
    PriorityPlan w1 = workload_priorities(paper_workload("w1"), 15'664, 8);
    EXPECT_EQ(w1.unsched_cutoffs, (Cutoffs{kRest, 2996, 1529, 986, 674, 461, 306, 165}));
    EXPECT_EQ(w1.max_sched_prio, 0);
    EXPECT_GT(w1.unsched_fraction, 0.99);
    PriorityPlan w5 = workload_priorities(paper_workload("w5"), 15'664, 8);
    EXPECT_EQ(w5.unsched_cutoffs, (Cutoffs{0, 0, 0, 0, 0, 0, 0, kRest}));
    EXPECT_EQ(w5.max_sched_prio, 6);
    EXPECT_LT(w5.unsched_fraction, 0.05);
}

TEST(WorkloadPriorities, DescribeNamesEachLevelFromTheTop) {
    EngineConfig linux_defaults;
    EXPECT_EQ(describe_priorities(linux_defaults),
              "7:<=200 6:<=2800 5:<=15000 4:rest, scheduled 0..3");
}

}  // namespace
}  // namespace homa::sim
