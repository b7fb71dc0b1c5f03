// How much a worker's poll reads from its RX queue: at most rx_budget_bursts bursts, stopping
// at the first short one, and (with rx_budget_ns) after the first full burst that ends past
// the time budget; a budget that ends with the queue still delivering is counted as backlog
// (WorkerStats::rx_backlog_polls), which keeps that tick from counting as a peer's silence.
#include <gtest/gtest.h>

#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/wire_harness.h"

namespace homa {
namespace {

using test::kArpForSomeoneElse;
using test::Wire;

// A worker reading bursts of 4, at most 3 per poll, with RX time budget `ns` (0: none).
Wire budget_wire(const std::string &name, uint64_t ns) {
    return Wire(name, [ns](dp::WorkerConfig &c) {
        c.burst = 4;
        c.rx_budget_bursts = 3;
        c.rx_budget_ns = ns;
    });
}

void inject(Wire &wire, int n) {
    for (int i = 0; i < n; ++i) wire.inject(kArpForSomeoneElse);
}

TEST(WorkerRxBudget, APollReadsAtMostItsBurstsAndCountsTheRestAsBacklog) {
    Wire wire = budget_wire("rxb1", 0);  // bursts alone
    ASSERT_EQ(wire.error, "");
    inject(wire, 50);
    wire.worker().poll();
    EXPECT_EQ(wire.pending_rx(), 50u - 12u);
    EXPECT_EQ(wire.worker().stats().rx_backlog_polls, 1u);
    wire.take(10);  // drains the rest: 38 frames in 10 polls of up to 12
    EXPECT_EQ(wire.pending_rx(), 0u);
}

TEST(WorkerRxBudget, AShortBurstEndsThePollWithoutBacklog) {
    Wire wire = budget_wire("rxb2", 0);  // bursts alone
    ASSERT_EQ(wire.error, "");
    inject(wire, 6);  // a full burst of 4, then a short one of 2
    wire.worker().poll();
    EXPECT_EQ(wire.pending_rx(), 0u);
    EXPECT_EQ(wire.worker().stats().rx_backlog_polls, 0u);
}

TEST(WorkerRxBudget, ATimeBudgetEndsThePollAfterTheBurstThatPassesIt) {
    // One ns: every full burst ends past it, so a poll reads exactly one burst.
    Wire wire = budget_wire("rxb3", 1);
    ASSERT_EQ(wire.error, "");
    inject(wire, 50);
    wire.worker().poll();
    EXPECT_EQ(wire.pending_rx(), 50u - 4u);
    EXPECT_EQ(wire.worker().stats().rx_backlog_polls, 1u);
    // A generous time budget leaves the burst budget in charge.
    Wire roomy = budget_wire("rxb4", uint64_t{1} << 40);
    ASSERT_EQ(roomy.error, "");
    inject(roomy, 50);
    roomy.worker().poll();
    EXPECT_EQ(roomy.pending_rx(), 50u - 12u);
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("rxbudget"));
    return RUN_ALL_TESTS();
}
