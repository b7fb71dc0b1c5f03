// The simulated switch's output queues (apps/sim/output_queued_switch.cc): strict priority
// between the 8 queues of a port, FIFO within one, ports independent, and tail drop when the
// shared buffer is full.
#include <gtest/gtest.h>

#include "apps/sim/output_queued_switch.h"

namespace homa::sim {
namespace {

TEST(OutputQueuedSwitch, HigherPriorityLeavesFirstAndFifoWithinAPriority) {
    OutputQueuedSwitch sw(2, 1 << 20);
    // Frames 1..6 arrive in this order with these priorities.
    ASSERT_TRUE(sw.enqueue(0, 1, 1500, 0));
    ASSERT_TRUE(sw.enqueue(0, 2, 1500, 3));
    ASSERT_TRUE(sw.enqueue(0, 3, 100, 7));
    ASSERT_TRUE(sw.enqueue(0, 4, 1500, 3));
    ASSERT_TRUE(sw.enqueue(0, 5, 100, 7));
    ASSERT_TRUE(sw.enqueue(0, 6, 1500, 0));
    std::vector<uint32_t> order;
    while (sw.has_frame(0)) order.push_back(sw.dequeue(0));
    EXPECT_EQ(order, (std::vector<uint32_t>{3, 5, 2, 4, 1, 6}));
    EXPECT_EQ(sw.buffer_used(), 0u);
    EXPECT_EQ(sw.max_port_bytes(), 6200u);
}

TEST(OutputQueuedSwitch, PortsAreIndependent) {
    OutputQueuedSwitch sw(2, 1 << 20);
    ASSERT_TRUE(sw.enqueue(1, 10, 1500, 0));
    ASSERT_TRUE(sw.enqueue(0, 20, 100, 7));
    EXPECT_EQ(sw.dequeue(1), 10u);  // port 1's only frame, whatever port 0 holds
    EXPECT_FALSE(sw.has_frame(1));
    EXPECT_TRUE(sw.has_frame(0));
}

TEST(OutputQueuedSwitch, SharedBufferTailDrops) {
    OutputQueuedSwitch sw(2, 3000);
    EXPECT_TRUE(sw.enqueue(0, 1, 1500, 0));
    EXPECT_TRUE(sw.enqueue(1, 2, 1500, 7));
    EXPECT_FALSE(sw.enqueue(1, 3, 1, 7));  // full, whatever the port or priority
    EXPECT_EQ(sw.drops(), 1u);
    EXPECT_EQ(sw.dequeue(0), 1u);
    EXPECT_TRUE(sw.enqueue(1, 3, 1500, 7));  // room again
    EXPECT_EQ(sw.max_buffer_used(), 3000u);
}

}  // namespace
}  // namespace homa::sim
