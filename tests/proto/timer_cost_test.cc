// The timer's work per tick stays bounded however many RPCs come due together (timer.cc,
// issue 12). At 10^6 live RPCs over memif the server's timer once walked every request the
// echo application had not read yet, in one tick: 124 ms in which the worker neither received
// nor sent, so the client heard nothing for 100 ticks and timed out tens of thousands of RPCs
// that were merely queued. Counted in timer_checks, not timed: the counts are deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "tests/fakes/fake_pool.h"
#include "tests/proto/loss_helpers.h"

namespace homa {
namespace {

using namespace test;  // NOLINT: the fixtures of tests/fakes and tests/proto

// The most RPCs one tick may look at (timer.cc kMaxChecksPerTick), and what the tests allow.
constexpr uint64_t kCheckCap = 8192;

// Polls `engine` once per tick from `from` for `ticks` ticks; returns the most timer checks
// made in one of them.
uint64_t max_checks_per_tick(Engine &engine, uint64_t from, int ticks) {
    uint64_t most = 0;
    for (int i = 1; i <= ticks; ++i) {
        uint64_t before = engine.stats().timer_checks;
        engine.poll(from + uint64_t(i) * kTickNs);
        engine.clear_tx();
        most = std::max(most, engine.stats().timer_checks - before);
    }
    return most;
}

// Guards the eager unwatch in incoming.cc (complete_in): a message that has arrived whole is
// the application's; nothing about it is owed by the peer, so it must not wait on the peer's
// watch list for the timer to find it there.
TEST(TimerCost, RequestsTheApplicationHasNotReadAreNotWalkedByTheTimer) {
    constexpr uint32_t n = 50'000;
    EngineConfig cfg = test_config();
    cfg.local_ip = kServerIp;
    cfg.max_rpcs = n + 1024;
    FakePool pool(64, n + 1024);
    Engine engine(cfg, pool.ops());
    SocketId sock;
    ASSERT_EQ(engine.open_socket(kPort, &sock), 0);
    std::vector<uint8_t> frame(2048), payload(100, 0x5a);
    for (uint32_t i = 0; i < n; ++i) {
        wire::Data d;
        d.common = {.sport = 0x8001, .dport = kPort, .sender_id = 1000 + 2 * uint64_t{i}};
        d.message_length = 100;
        d.incoming = 100;
        size_t len = wire::encode(frame, frame_addr(kClientIp, kServerIp), d, payload);
        ASSERT_GT(len, 0u);
        handle_frame(engine, {frame.data(), len}, 1000);
    }
    ASSERT_EQ(engine.live_rpcs(), n);
    // The application is behind: it reads none of them for 30 ticks.
    uint64_t most = max_checks_per_tick(engine, 1000, 30);
    EXPECT_LE(most, 16u) << "the timer walked requests that wait for the application";
    EXPECT_EQ(engine.stats().resends_sent + engine.stats().need_acks_sent, 0u);
    EXPECT_EQ(engine.stats().server_rpcs_timed_out, 0u);
}

// Guards the per-tick cap on checks (timer.cc kMaxChecksPerTick): 20,000 requests to 20,000
// servers that never answer all come due in one tick (no jitter: resend_interval 1); each has
// its own peer, so no per-peer budget stops the walk. The tick is cut at the cap and the rest
// follow in the next ticks: every request is still probed, and none is lost track of.
TEST(TimerCost, ATickLooksAtNoMoreThanTheCapAndTheRestFollow) {
    constexpr uint32_t n = 20'000;
    EngineConfig cfg = test_config();
    cfg.local_ip = kClientIp;
    cfg.max_rpcs = n + 1024;
    cfg.resend_interval = 1;
    cfg.max_nic_queue_ns = 1'000'000'000;  // the pacer lets every request out at once
    FakePool pool(64, 1024);
    Engine engine(cfg, pool.ops());
    SocketId sock;
    ASSERT_EQ(engine.open_socket(0, &sock), 0);
    uint8_t body[100] = {};
    for (uint32_t i = 0; i < n; ++i) {
        uint64_t id;
        Endpoint dst{IpAddress(0x0B000000 + i), kPort};
        ASSERT_EQ(engine.send_request(sock, dst, OutMessage::contiguous(body, 100), i, 1000, &id),
                  0);
    }
    for (int i = 0; i < 10 && engine.stats().tx(wire::PacketType::kData) < n; ++i) {
        engine.poll(1000);  // 4,096 per poll
        engine.clear_tx();
    }
    ASSERT_EQ(engine.stats().tx(wire::PacketType::kData), n);
    uint64_t most = max_checks_per_tick(engine, 1000, 3 * cfg.resend_ticks + 10);
    EXPECT_LE(most, kCheckCap);
    EXPECT_GT(most, kCheckCap / 2);  // the walk did reach the cap: the case is the one meant
    EXPECT_GE(engine.stats().resends_sent, n);  // every request probed at least once
    EXPECT_EQ(engine.stats().client_rpcs_timed_out, 0u);
}

// Guards head_left (timer.cc): when the head of a peer's watch list leaves, the peer's heap key
// is only lowered to the next tick (the new head is not read: a cache miss per RPC at 10^4
// live RPCs), and that tick must put the new head's true due time back. Request A is probed
// until its backoff puts its next probe ~40 ticks away; request B joins behind it, and A is
// aborted. B must be probed at its own due time: not lost (no key put back) and not left
// waiting for A's far-off one (the old key kept).
TEST(TimerCost, AWatchListHeadThatLeavesNeitherLosesNorDelaysTheNext) {
    EngineConfig cfg = test_config();
    cfg.local_ip = kClientIp;
    FakePool pool(64, 1024);
    Engine engine(cfg, pool.ops());
    SocketId sock;
    ASSERT_EQ(engine.open_socket(0, &sock), 0);
    const Endpoint silent{IpAddress(0x0B000001), kPort};
    uint8_t body[100] = {};
    uint64_t now = 1000, a = 0, b = 0;
    auto tick = [&] {
        now += kTickNs;
        engine.poll(now);
        engine.clear_tx();
    };
    ASSERT_EQ(engine.send_request(sock, silent, OutMessage::contiguous(body, 100), 1, now, &a), 0);
    engine.poll(now);
    engine.clear_tx();
    for (int i = 0; i < 45; ++i) tick();
    // Probed at about ticks 5, 10, 20 and 40: the next is ~40 ticks away.
    ASSERT_GE(engine.stats().resend_probes_sent, 4u);
    ASSERT_EQ(engine.send_request(sock, silent, OutMessage::contiguous(body, 100), 2, now, &b), 0);
    engine.poll(now);
    engine.clear_tx();
    ASSERT_EQ(engine.abort(sock, a, -ECANCELED, now), 0);
    const uint64_t probes = engine.stats().resend_probes_sent;
    for (uint32_t i = 0; i + 1 < cfg.resend_ticks; ++i) tick();
    EXPECT_EQ(engine.stats().resend_probes_sent, probes) << "B was probed before it was due";
    for (uint32_t i = 0; i < cfg.resend_interval + 2; ++i) tick();
    EXPECT_EQ(engine.stats().resend_probes_sent, probes + 1)
        << "B was not probed at its own due time";
    EXPECT_EQ(engine.stats().client_rpcs_timed_out, 0u);
}

}  // namespace
}  // namespace homa
