// Acks for RPCs that another engine of the host owns (EngineConfig::stray_ack_capacity): the
// engine keeps the acks it cannot match, for its worker to pass to the owner, and apply_ack
// frees the server RPC that such a passed-on ack names. The client is handcrafted.
#include <gtest/gtest.h>

#include "homa/proto/rpc_id.h"
#include "tests/proto/loss_helpers.h"

namespace homa {
namespace {

using namespace test;  // NOLINT: the fixtures of tests/fakes and tests/proto

constexpr uint16_t kClientPort = 0x8000;

struct Server {
    SimNetwork net;
    SimHost &host;
    EchoServer app;
    std::vector<uint8_t> frame = std::vector<uint8_t>(512);
    std::vector<uint8_t> body = std::vector<uint8_t>(100, 0x5A);

    explicit Server(uint32_t capacity)
        : host(net.add_host(kServerIp, config(capacity), 64)), app(host, kPort) {}
    static EngineConfig config(uint32_t capacity) {
        EngineConfig c = test_config();
        c.stray_ack_capacity = capacity;
        return c;
    }
    template <typename Fields>
    void deliver(const Fields &f) {
        size_t n = wire::encode(frame, frame_addr(kClientIp, kServerIp), f);
        ASSERT_GT(n, 0u);
        handle_frame(host.engine, {frame.data(), n}, 0);
    }
    // A whole 100-byte request of client RPC `id` carrying an ack of client RPC `ack` (0:
    // none); the server answers it, so its RPC then waits for an ack.
    void request(uint64_t id, uint64_t ack = 0) {
        wire::Data d{.common = {.sport = kClientPort, .dport = kPort, .sender_id = id},
                     .message_length = 100,
                     .incoming = 100,
                     .ack = {ack, ack ? kPort : uint16_t{0}}};
        size_t n = wire::encode(frame, frame_addr(kClientIp, kServerIp), d, body);
        ASSERT_GT(n, 0u);
        handle_frame(host.engine, {frame.data(), n}, 0);
        app.serve(0);
        host.engine.poll(0);
        host.engine.clear_tx();
    }
    // An ACK packet of `self` listing `listed`.
    void ack_packet(uint64_t self, std::initializer_list<uint64_t> listed) {
        wire::Acks a{.common = {.sport = kClientPort, .dport = kPort, .sender_id = self}};
        for (uint64_t id : listed) a.acks[a.num_acks++] = {id, kPort};
        deliver(a);
    }
    std::vector<uint64_t> strays() const {
        std::vector<uint64_t> ids;
        for (const StrayAck &a : host.engine.stray_acks()) {
            EXPECT_EQ(a.peer, IpAddress(kClientIp));
            ids.push_back(a.client_id);
        }
        return ids;
    }
    const EngineStats &stats() const { return host.engine.stats(); }
};

TEST(StrayAcks, PiggybackedAndListedAcksForNoRpcAreKeptForTheOwner) {
    Server s(8);
    s.request(2);
    s.request(4, 100);  // an ack for an RPC this engine never had
    EXPECT_EQ(s.strays(), (std::vector<uint64_t>{100}));
    // The ACK packet's own id came here by steering: a miss is a repeat, not kept. Its list
    // is kept, except the RPC that this engine has and frees.
    s.ack_packet(102, {2, 104, 106});
    EXPECT_EQ(s.strays(), (std::vector<uint64_t>{100, 104, 106}));
    EXPECT_EQ(s.stats().acks_strayed, 3u);
    EXPECT_EQ(s.stats().server_rpcs_completed, 1u);
    EXPECT_EQ(s.host.engine.live_rpcs(), 1u);
    s.host.engine.clear_stray_acks();
    EXPECT_TRUE(s.strays().empty());
}

TEST(StrayAcks, ApplyAckFreesTheServerRpcItNames) {
    Server s(8);
    s.request(2);
    s.request(4);
    ASSERT_EQ(s.host.engine.live_rpcs(), 2u);
    EXPECT_TRUE(s.host.engine.apply_ack(kClientIp, 4));
    EXPECT_EQ(s.host.engine.live_rpcs(), 1u);
    EXPECT_EQ(s.stats().server_rpcs_completed, 1u);
    EXPECT_EQ(s.stats().acks_applied, 1u);
    // Repeats, another client's id, an unknown client: nothing freed, counted.
    EXPECT_FALSE(s.host.engine.apply_ack(kClientIp, 4));
    EXPECT_FALSE(s.host.engine.apply_ack(0x0A000099, 2));
    EXPECT_EQ(s.stats().acks_applied_stale, 2u);
    EXPECT_EQ(s.host.engine.live_rpcs(), 1u);
    EXPECT_TRUE(s.host.engine.apply_ack(kClientIp, 2));
    EXPECT_EQ(s.host.engine.live_rpcs(), 0u);
    EXPECT_TRUE(s.host.engine.stray_acks().empty());  // applying never strays
}

TEST(StrayAcks, FullListDropsAndCountsTheRest) {
    Server s(2);
    s.ack_packet(2, {10, 12, 14, 16});
    EXPECT_EQ(s.strays(), (std::vector<uint64_t>{10, 12}));
    EXPECT_EQ(s.stats().acks_strayed, 2u);
    EXPECT_EQ(s.stats().acks_strayed_dropped, 2u);
}

TEST(StrayAcks, NoneKeptByDefaultAndTheCapacityIsFixed) {
    Server s(0);
    s.request(2, 100);
    s.ack_packet(4, {6, 8});
    EXPECT_TRUE(s.strays().empty());
    EXPECT_EQ(s.stats().acks_strayed + s.stats().acks_strayed_dropped, 0u);
    EngineConfig c = s.host.engine.config();
    c.stray_ack_capacity = 16;
    std::string why;
    EXPECT_EQ(s.host.engine.reconfigure(c, &why), -EBUSY);
    EXPECT_NE(why.find("stray_ack_capacity"), std::string::npos) << why;
}

}  // namespace
}  // namespace homa
