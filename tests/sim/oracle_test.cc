// The SRPT oracle (apps/sim/srpt_oracle.cc) against schedules computed by hand, and the
// topology's timing that both it and every slowdown use (apps/sim/topology.cc).
//
// At 25 Gbps a byte takes 320 ps. A full DATA frame is 14 + 20 + 56 + 1424 = 1514 bytes, 1538
// on the wire (FCS, preamble, gap): 492,160 ps. One hop pair (cable, switch, cable) with the
// defaults is 800 + 300 + 800 ns = 1,900,000 ps, of which 1,100,000 ps lie before the switch's
// output queue.
#include <gtest/gtest.h>

#include "apps/sim/srpt_oracle.h"
#include "apps/sim/topology.h"

namespace homa::sim {
namespace {

constexpr SimTime kFull = 492'160;       // a 1424-byte DATA packet on a 25 Gbps link
constexpr SimTime kToQueue = 1'100'000;  // cable + switching, before the output queue
constexpr SimTime kDown = 800'000;       // cable from the switch to the receiver

Topology topo() { return Topology{}; }

TEST(Topology, WireTimesAndUnloadedTimeByHand) {
    Topology t = topo();
    EXPECT_EQ(t.max_payload(), 1424u);
    EXPECT_EQ(t.wire_time(Topology::data_frame_bytes(1424)), kFull);
    // 100-byte message: 190-byte frame, 214 on the wire = 68,480 ps, twice (host link, port).
    EXPECT_EQ(t.unloaded_time(100), 68'480 + kToQueue + 68'480 + kDown);
    // 3 full packets back to back, then the last one through the port.
    EXPECT_EQ(t.unloaded_time(3 * 1424), 3 * kFull + kToQueue + kFull + kDown);
    // A tiny frame is padded to Ethernet's 64-byte minimum (84 on the wire: 26,880 ps).
    EXPECT_EQ(t.wire_time(40), 26'880u);
    // RTT: a full packet there, a 67-byte GRANT frame (91 on the wire) back.
    EXPECT_EQ(t.rtt(), 2 * kFull + 2 * 29'120 + 2 * 1'900'000);
    // 1425 bytes: a full packet, then 1 byte (a 91-byte frame, 36,800 ps) that reaches the port
    // while the full one is still going out there.
    EXPECT_EQ(t.unloaded_time(1425), kFull + kToQueue + kFull + 36'800 + kDown);
    EXPECT_EQ(t.default_unsched_bytes() % 1424, 0u);
    EXPECT_GE(t.default_unsched_bytes(), t.rtt_bytes());
}

TEST(SrptOracle, MessageAloneTakesItsUnloadedTime) {
    Topology t = topo();
    for (uint32_t len : {1u, 100u, 1424u, 1425u, 50'000u, 1'000'000u}) {
        std::vector<MessageSpec> m = {{5'000, 3, 7, len}};
        EXPECT_EQ(srpt_oracle(t, m)[0], 5'000 + t.unloaded_time(len)) << len;
    }
}

// Host 1 starts A (3 full packets, to host 0) at 0; B (100 bytes, to host 2) arrives at 100 ns,
// while A's first packet is on the wire. SRPT at the sender: B goes next, then A's rest.
TEST(SrptOracle, SenderLinkServesShortestRemainingFirst) {
    std::vector<MessageSpec> m = {{0, 1, 0, 3 * 1424}, {100'000, 1, 2, 100}};
    std::vector<SimTime> done = srpt_oracle(topo(), m);
    const SimTime b_sent = kFull + 68'480;  // after A's first packet
    EXPECT_EQ(done[1], b_sent + kToQueue + 68'480 + kDown);
    EXPECT_EQ(done[0], b_sent + 2 * kFull + kToQueue + kFull + kDown);
}

// Hosts 1 and 2 each send 4 full packets to host 0 at time 0. Their packets reach port 0 in
// pairs every kFull; the port always serves the packet whose message has the fewest bytes left,
// so A (first in the tie) runs to completion before C, instead of alternating as FIFO would.
TEST(SrptOracle, SwitchPortServesShortestRemainingFirst) {
    std::vector<MessageSpec> m = {{0, 1, 0, 4 * 1424}, {0, 2, 0, 4 * 1424}};
    std::vector<SimTime> done = srpt_oracle(topo(), m);
    const SimTime first = kFull + kToQueue;         // A1 and C1 reach the port; A1 starts
    EXPECT_EQ(done[0], first + 4 * kFull + kDown);  // A1..A4 back to back
    EXPECT_EQ(done[1], first + 8 * kFull + kDown);  // then all of C
    // FIFO would have interleaved them: A done after 7 packets.
    EXPECT_LT(done[0], first + 7 * kFull + kDown);
}

// The receiver answers every message with a 1-byte reply, which competes on its own link like
// any message: host 1's 100-byte A reaches host 0 at 2,036,960 ps (its unloaded time), while
// host 0 is sending B (3 full packets to host 2, from 2,000,000 ps). The reply (1 byte left)
// goes right after B's first packet, ahead of B's other two, and delays B by its 36,800 ps.
TEST(SrptOracle, RepliesCompeteOnTheReceiversLink) {
    std::vector<MessageSpec> m = {{0, 1, 0, 100}, {2'000'000, 0, 2, 3 * 1424}};
    std::vector<SimTime> done = srpt_oracle(topo(), m);
    EXPECT_EQ(done[0], 68'480 + kToQueue + 68'480 + kDown);
    const SimTime reply_sent = 2'000'000 + kFull + 36'800;
    EXPECT_EQ(done[1], reply_sent + 2 * kFull + kToQueue + kFull + kDown);
}

}  // namespace
}  // namespace homa::sim
