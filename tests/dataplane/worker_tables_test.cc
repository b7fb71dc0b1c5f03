// A worker's engine keeps its RPC slab and index on mem::map_table's huge-page memory (not the
// heap): at 10^5 live RPCs that halves the RX pipeline's cycles per packet (docs/perf.md, "The
// engine's tables on huge pages"). Whether they are huge pages is the kernel's call
// (transparent huge pages); what the dataplane controls, and this checks, is that it asked.
#include <gtest/gtest.h>

#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/wire_harness.h"

namespace homa {
namespace {

using test::Wire;

TEST(WorkerTables, EngineTablesAreMappedNotOnTheHeap) {
    Wire wire("wtab", [](dp::WorkerConfig &c) { c.engine.max_rpcs = 20'000; });
    ASSERT_EQ(wire.error, "");
    EXPECT_TRUE(wire.worker().engine().tables_mapped());
    // Still a working engine: an RPC slot can be had from the mapped slab.
    SocketId sock = 0;
    ASSERT_EQ(wire.worker().engine().open_socket(0, &sock), 0);
    uint64_t id = 0;
    static const uint8_t kPayload[64] = {};
    EXPECT_EQ(wire.worker().engine().send_request(sock, {0x0A000063, 99},
                                                  OutMessage::contiguous(kPayload, sizeof kPayload),
                                                  1, wire.worker().now_ns(), &id),
              0);
    EXPECT_EQ(wire.worker().engine().live_rpcs(), 1u);
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("wtables"));
    return RUN_ALL_TESTS();
}
