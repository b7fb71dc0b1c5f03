// The engine sees a worker's received packets in arrival order, whether a frame came in one
// mbuf or as a chain (which the worker linearizes and cannot hold back for the burst's second
// pass). Two DATA packets of one request whose outcome depends on their order tell it: the
// first, complete in itself, makes a 100-byte request; the second, a different length, then
// finds it complete (an unexpected-state drop). In the other order the second makes a
// 3000-byte request and the first is a length mismatch.
#include <gtest/gtest.h>

#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/wire_harness.h"

namespace homa {
namespace {

using test::Bytes;
using test::Wire;

constexpr uint16_t kServerPort = 99;
constexpr uint64_t kClientId = 1000;

// A DATA frame of the peer's request kClientId: `payload` bytes at `offset` of `length`.
Bytes data_frame(const Wire &wire, uint32_t length, uint32_t offset, uint32_t payload) {
    return test::peer_data_frame(wire, kServerPort, kClientId, length, offset, payload);
}

struct Outcome {
    uint64_t unexpected_state, length_mismatch;
    uint32_t request_length;  // 0: no request ready
};

// Injects the two frames (`chained_second`: the second one arrives as a chain, else the first),
// lets the worker read them in one burst, and reports what the engine made of them.
Outcome run(const std::string &name, bool chained_second) {
    Wire wire(name);
    EXPECT_EQ(wire.error, "");
    dp::Socket server;
    EXPECT_EQ(dp::Socket::open(wire.worker(), kServerPort, &server), 0);
    Bytes whole = data_frame(wire, 100, 0, 100);
    Bytes part = data_frame(wire, 3000, 1400, 1400);
    const size_t headers = part.size() - 1400;
    if (chained_second) {
        wire.inject(whole);
        wire.inject_chained(part, headers);
    } else {
        wire.inject_chained(whole, whole.size() - 100);
        wire.inject(part);
    }
    wire.take(1);
    const EngineStats &es = wire.worker().engine().stats();
    EXPECT_EQ(wire.worker().stats().rx_linearized, 1u);
    Outcome o{es.drop(EngineDrop::kUnexpectedState), es.drop(EngineDrop::kLengthMismatch), 0};
    dp::RecvMessage req;
    if (server.recv(kRecvRequest, 0, &req) == 0) o.request_length = req.length();
    return o;
}

TEST(WorkerRxOrder, AChainedFrameIsHandledAfterTheFramesBeforeIt) {
    Outcome o = run("rxo1", true);
    EXPECT_EQ(o.request_length, 100u);
    EXPECT_EQ(o.unexpected_state, 1u);
    EXPECT_EQ(o.length_mismatch, 0u);
}

TEST(WorkerRxOrder, AChainedFrameIsHandledBeforeTheFramesAfterIt) {
    Outcome o = run("rxo2", false);
    EXPECT_EQ(o.request_length, 100u);
    EXPECT_EQ(o.unexpected_state, 1u);
    EXPECT_EQ(o.length_mismatch, 0u);
}

}  // namespace
}  // namespace homa
