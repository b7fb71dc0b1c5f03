// The Homa cluster (apps/sim/homa_cluster.cc) with small cases whose answer is known: a message
// alone takes exactly its unloaded time (no stall waiting for grants, no gap between packets);
// messages to one receiver finish in SRPT order, the short ones at close to their unloaded
// time (priorities and grants at work), and FIFO grants do not overtake them; a seed fixes the
// whole run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "apps/sim/experiment.h"
#include "apps/sim/homa_cluster.h"

namespace homa::sim {
namespace {

EngineConfig engine_for(const Topology &t) {
    EngineConfig c;
    c.link_mbps = static_cast<uint32_t>(t.link_gbps * 1000);
    c.unsched_bytes = t.default_unsched_bytes();
    c.max_rpcs = 4096;  // the default 65,536-RPC tables per host cost a second per test here
    return c;
}

double slowdown(const Topology &t, const MessageSpec &m, SimTime done) {
    return double(done - m.arrival) / double(t.unloaded_time(m.length));
}

class Alone : public ::testing::TestWithParam<uint32_t> {};

// Guards the NIC model (one frame at a time, the engine polled the moment the link frees),
// unsched_bytes covering an RTT, and the receiver granting ahead of the sender.
TEST_P(Alone, MessageAloneHasSlowdownOne) {
    Topology t;
    t.hosts = 10;
    std::vector<MessageSpec> m = {{1'000'000, 3, 9, GetParam()}};
    HomaCluster c(t, engine_for(t), m);
    c.run(1'000'000'000'000);
    ASSERT_EQ(c.completed(), 1u);
    EXPECT_NEAR(slowdown(t, m[0], c.completions()[0]), 1.0, 0.001) << GetParam() << " bytes";
}

INSTANTIATE_TEST_SUITE_P(Sizes, Alone,
                         ::testing::Values(1u, 100u, 1424u, 1425u, 15'000u, 100'000u, 1'000'000u));

// Three messages to host 0, the longest first, each later one shorter: they finish in SRPT
// order. The shortest fits in its unscheduled bytes, whose priority (5, by the cutoffs) outranks
// the long message's scheduled data in the switch: it waits for a packet or two at most.
TEST(HomaCluster, MessagesToOneReceiverFinishInSrptOrder) {
    Topology t;
    t.hosts = 4;
    std::vector<MessageSpec> m = {
        {0, 1, 0, 1'000'000}, {20'000'000, 2, 0, 60'000}, {30'000'000, 3, 0, 5'000}};
    HomaCluster c(t, engine_for(t), m);
    c.run(1'000'000'000'000);
    ASSERT_EQ(c.completed(), 3u);
    const auto &done = c.completions();
    EXPECT_LT(done[2], done[1]);
    EXPECT_LT(done[1], done[0]);
    // FIFO in the switch would interleave it with the long message's packets: near 2.
    EXPECT_LT(slowdown(t, m[2], done[2]), 1.3);
    // The long one lost only the time the others' bytes took on the receiver's link.
    SimTime others = t.unloaded_time(60'000) + t.unloaded_time(5'000);
    EXPECT_LT(done[0], m[0].arrival + t.unloaded_time(1'000'000) + others + 20'000'000);
}

// The same for a short message that needs grants: its scheduled packets must outrank the
// long message's. Guards proto/grant.cc's priorities: with rank 0 always at max_sched_prio
// (whatever the number of active messages), once the 60 KB message is fully granted the 1 MB
// one is rank 0 again, both send at priority 3 and the switch interleaves them (slowdown
// 1.96). As Linux (homa_grant_priority), fewer active messages than levels use the lowest
// levels, so the long one is at 0 and the short one above it (docs/sim.md, finding 2).
TEST(HomaCluster, ScheduledShortMessageOutranksLongOne) {
    Topology t;
    t.hosts = 4;
    std::vector<MessageSpec> m = {{0, 1, 0, 1'000'000}, {20'000'000, 2, 0, 60'000}};
    HomaCluster c(t, engine_for(t), m);
    c.run(1'000'000'000'000);
    ASSERT_EQ(c.completed(), 2u);
    EXPECT_LT(slowdown(t, m[1], c.completions()[1]), 1.3);
}

// Liveness: four 150 KB messages and one of 20 KB reach host 0 at once. The fourth 150 KB
// message is activated while granted-but-unreceived bytes are at max_incoming, so it is
// skipped; the bytes that free max_incoming belong to messages already fully granted, whose
// arrivals do not rerun the grant pipeline (proto/grant.cc, grantable_received returns before
// setting grants_dirty), and it waited for grants forever (its sender is answered BUSY, so it
// never times out). Guards grant.cc rerunning the pipeline then (docs/sim.md, finding 1).
TEST(HomaCluster, MessageBlockedByMaxIncomingIsGrantedOnceRoomFrees) {
    Topology t;
    t.hosts = 6;
    std::vector<MessageSpec> m;
    for (uint32_t i = 0; i < 4; ++i) m.push_back({0, 1 + i, 0, 150'000});
    m.push_back({0, 5, 0, 20'000});
    HomaCluster c(t, engine_for(t), m);
    c.run(100'000'000'000);  // 100 ms: the whole exchange takes 0.2 ms
    EXPECT_EQ(c.completed(), m.size());
}

// Finding 4 of docs/sim.md: the FIFO share's grants to the oldest message (a 1 MB one) must not
// put its bytes ahead of shorter messages' scheduled data in the receiver's switch port. Two
// 1 MB messages and a 60 KB one every 40 us to host 0, with a FIFO share of 20 % so that the
// run has several FIFO grants. Worst 60 KB slowdown: 1.25 without FIFO grants, 1.38 with them
// at priority 0, 1.81 with them at max_sched_prio (as before) or at the oldest message's rank.
TEST(HomaCluster, FifoGrantsDoNotOvertakeShorterMessages) {
    Topology t;
    t.hosts = 4;
    EngineConfig e = engine_for(t);
    e.window = t.default_unsched_bytes();
    e.grant_fifo_fraction = 200;
    std::vector<MessageSpec> m = {{0, 1, 0, 1'000'000}, {1'000'000, 3, 0, 1'000'000}};
    for (SimTime at = 5'000'000; at < 1'000'000'000; at += 40'000'000)
        m.push_back({at, 2, 0, 60'000});
    HomaCluster c(t, e, m);
    c.run(1'000'000'000'000);
    ASSERT_EQ(c.completed(), m.size());
    EXPECT_GE(c.stats().fifo_grants, 3u);
    double worst = 0;
    for (size_t i = 2; i < m.size(); ++i)
        worst = std::max(worst, slowdown(t, m[i], c.completions()[i]));
    EXPECT_LT(worst, 1.5);
}

ExperimentOptions small_run(uint64_t seed) {
    ExperimentOptions o;
    o.topo.hosts = 4;
    o.engine = engine_for(o.topo);
    o.load = 0.7;
    o.messages = 3'000;
    o.seed = seed;
    o.oracle = true;
    return o;
}

apps::Workload w2() {
    apps::Workload w;
    std::string err;
    const char *dir = std::getenv("HOMA_WORKLOAD_DIR");
    if (!apps::Workload::parse("w2", dir ? dir : "config/workloads", &w, &err)) {
        ADD_FAILURE() << err;
    }
    return w;
}

TEST(Experiment, SameSeedGivesIdenticalResults) {
    apps::Workload w = w2();
    ExperimentResult a = run_experiment(small_run(7), w);
    ExperimentResult b = run_experiment(small_run(7), w);
    ExperimentResult c = run_experiment(small_run(8), w);
    ASSERT_EQ(a.homa_done.size(), 3'000u);
    EXPECT_EQ(a.homa_done, b.homa_done);
    EXPECT_EQ(a.oracle_done, b.oracle_done);
    EXPECT_EQ(a.cluster.frames, b.cluster.frames);
    EXPECT_EQ(a.cluster.events, b.cluster.events);
    EXPECT_NE(a.homa_done, c.homa_done);  // the seed matters
    EXPECT_EQ(a.homa_load.incomplete, 0u);
}

}  // namespace
}  // namespace homa::sim
