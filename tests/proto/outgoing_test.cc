// Transmit: sender-side SRPT (among messages with granted bytes, the one with the fewest bytes
// left goes first, so a short message queued behind a long one overtakes it at the sender), the
// poll's max_remaining, and short messages the engine copies (OutMessage::copy).
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/proto/echo_apps.h"

namespace homa {
namespace {

using test::EchoClient;
using test::EchoServer;
using test::SimHost;
using test::SimNetwork;

// Starts `n` requests of `len` bytes of `body` from `h` to 1:99; the last one's id.
uint64_t send_requests(SimHost &h, SocketId sock, const std::vector<uint8_t> &body, uint32_t len,
                       int n) {
    uint64_t id = 0;
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(h.engine.send_request(sock, {1, 99}, OutMessage::contiguous(body.data(), len, 1),
                                        1, 0, &id),
                  0);
    }
    return id;
}

// The sender ids of the DATA packets `h` queued since the last call, in order (then cleared).
std::vector<uint64_t> take_data_ids(SimHost &h) {
    std::vector<uint64_t> ids;
    for (const TxPacket &p : h.engine.tx_packets()) {
        const auto *c = reinterpret_cast<const wire::CommonHeader *>(p.header);
        if (c->type == static_cast<uint8_t>(wire::PacketType::kData)) {
            ids.push_back(c->sender_id.get());
        }
    }
    h.engine.clear_tx();
    return ids;
}

TEST(Transmit, ShortMessageOvertakesLongOneAtTheSender) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.tick_ns = 100'000;
    SimHost &s = net.add_host(1, cfg, 1024);
    SimHost &c = net.add_host(2, cfg, 1024);
    EchoServer server(s, 99);
    EchoClient client(c);
    uint64_t long_id = client.send({1, 99}, 1'000'000, net.now());
    uint64_t short_ids[3];
    for (auto &id : short_ids) id = client.send({1, 99}, 5'000, net.now());  // 4 packets each
    for (int i = 0; i < 20000 && client.completed() < 4; ++i) {
        net.step();
        server.serve(net.now());
        client.poll();
    }
    ASSERT_EQ(client.completed(), 4u);
    // Position of each request packet the client sent, in order.
    size_t long_packets = 0, last_short = 0, long_before_last_short = 0;
    for (size_t i = 0; i < net.log().size(); ++i) {
        const auto &p = net.log()[i];
        if (p.src_ip != 2 || p.type != wire::PacketType::kData || p.retransmit) continue;
        if (p.sender_id == long_id) {
            ++long_packets;
        } else if (p.sender_id == short_ids[0] || p.sender_id == short_ids[1] ||
                   p.sender_id == short_ids[2]) {
            last_short = i;
            long_before_last_short = long_packets;
        }
    }
    EXPECT_GT(last_short, 0u);
    // send_request puts the long message's first pacer burst (about 10 packets) on the wire
    // before the short ones exist; after that every short packet goes ahead of the long tail.
    EXPECT_LE(long_before_last_short, 12u);
    EXPECT_GT(long_packets, 700u);
}

// poll's max_remaining: a caller that wants the lcore back soon (the worker's yield_to_app)
// gets only DATA of messages down to their last packet; the long one waits for the next poll.
TEST(Transmit, MaxRemainingSendsOnlyLastPacketsAndLeavesTheRestForTheNextPoll) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.link_mbps = 4'000'000'000u;  // no pacer: only max_remaining holds anything back
    SimHost &c = net.add_host(2, cfg, 1024);
    SocketId sock;
    ASSERT_EQ(c.engine.open_socket(0, &sock), 0);
    std::vector<uint8_t> big(100'000, 1), small(500, 2);
    uint64_t big_id = 0, small_id = 0;
    ASSERT_EQ(c.engine.send_request(sock, {1, 99}, OutMessage::contiguous(big.data(), 100'000, 1),
                                    1, 0, &big_id),
              0);
    ASSERT_EQ(c.engine.send_request(sock, {1, 99}, OutMessage::contiguous(small.data(), 500, 2), 2,
                                    0, &small_id),
              0);
    c.engine.poll(1'000, UINT32_MAX, cfg.max_payload());
    EXPECT_EQ(take_data_ids(c), std::vector<uint64_t>{small_id});  // the long one is not touched
    c.engine.poll(2'000, UINT32_MAX, cfg.max_payload());
    EXPECT_TRUE(take_data_ids(c).empty());
    c.engine.poll(3'000, UINT32_MAX);  // no limit: the long message's unscheduled bytes
    std::vector<uint64_t> rest = take_data_ids(c);
    EXPECT_EQ(rest.size(), (cfg.unsched_bytes + cfg.max_payload() - 1) / cfg.max_payload());
    for (uint64_t id : rest) EXPECT_EQ(id, big_id);
}

// send_last_packets: what the worker hands out before reading RX (short_before_rx). Only
// messages down to their last packet, shortest first, within the budget, which the next
// poll's budget then lacks; no other packet; nothing when only long messages wait.
TEST(Transmit, SendLastPacketsHandsOutOnlyLastPacketsWithinTheBudget) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.link_mbps = 4'000'000'000u;  // no pacer
    SimHost &c = net.add_host(2, cfg, 1024);
    SocketId sock;
    ASSERT_EQ(c.engine.open_socket(0, &sock), 0);
    std::vector<uint8_t> big(100'000, 1), small(500, 2);
    uint64_t big_id = 0, small_ids[3] = {};
    ASSERT_EQ(c.engine.send_request(sock, {1, 99}, OutMessage::contiguous(big.data(), 100'000, 1),
                                    1, 0, &big_id),
              0);
    for (auto &id : small_ids) {
        ASSERT_EQ(c.engine.send_request(sock, {1, 99}, OutMessage::contiguous(small.data(), 500, 2),
                                        2, 0, &id),
                  0);
    }
    EXPECT_EQ(c.engine.send_last_packets(1'000, 2), 2u);
    EXPECT_EQ(c.engine.tx_packets().size(), 2u) << "DATA only";
    EXPECT_EQ(take_data_ids(c), (std::vector<uint64_t>{small_ids[0], small_ids[1]}));
    // What it spent comes off the next poll's budget: of 3, one packet is left.
    EXPECT_EQ(c.engine.poll(1'500, 3), 1u);
    EXPECT_EQ(take_data_ids(c), std::vector<uint64_t>{small_ids[2]});
    EXPECT_EQ(c.engine.send_last_packets(3'000), 0u) << "the long message is not touched";
    EXPECT_TRUE(c.engine.tx_packets().empty());
    c.engine.poll(4'000);  // poll() sends it
    std::vector<uint64_t> rest = take_data_ids(c);
    ASSERT_FALSE(rest.empty());
    for (uint64_t id : rest) EXPECT_EQ(id, big_id);
}

// poll's budget_scale: data_budget bounds a poll's copying in full packets, so a short packet
// takes only its share (ceil(len * scale / max_payload) / scale of one) and full packets a
// whole one each; with scale 1 every packet counts as one.
TEST(Transmit, BudgetScaleCountsShortPacketsAsTheirShareOfAFullOne) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.link_mbps = 4'000'000'000u;  // no pacer: only the budget holds anything back
    SimHost &c = net.add_host(2, cfg, 1024);
    SocketId sock;
    ASSERT_EQ(c.engine.open_socket(0, &sock), 0);
    const uint32_t mp = cfg.max_payload();
    std::vector<uint8_t> body(200'000, 7);
    // 40 messages of an eighth of a packet or less: at scale 8 a budget of 2 lets 16 out.
    send_requests(c, sock, body, mp / 8, 40);
    c.engine.poll(1'000, 2, UINT32_MAX, 8);
    EXPECT_EQ(take_data_ids(c).size(), 16u);
    c.engine.poll(2'000, 2, UINT32_MAX, 1);  // every packet one
    EXPECT_EQ(take_data_ids(c).size(), 2u);
    // A quarter-packet message takes two eighths: the 22 short ones left and one of these
    // fill a budget of 3 (24 eighths), four of them a budget of 1.
    send_requests(c, sock, body, mp / 4, 8);
    c.engine.poll(3'000, 3, UINT32_MAX, 8);
    EXPECT_EQ(take_data_ids(c).size(), 23u);
    c.engine.poll(4'000, 1, UINT32_MAX, 8);
    EXPECT_EQ(take_data_ids(c).size(), 4u);
    c.engine.poll(5'000, 100, UINT32_MAX, 8);
    EXPECT_EQ(take_data_ids(c).size(), 3u);
    // Full packets: one each whatever the scale.
    send_requests(c, sock, body, 200'000, 1);
    c.engine.poll(6'000, 3, UINT32_MAX, 8);
    EXPECT_EQ(take_data_ids(c).size(), 3u);
    c.engine.poll(7'000, 3, UINT32_MAX, 1);
    EXPECT_EQ(take_data_ids(c).size(), 3u);
}

// queued_replies counts the replies in the send queue, and only them: not the requests a client
// queued, and not a reply once its last packet is handed out or its RPC is gone.
TEST(Transmit, QueuedRepliesCountsRepliesNotYetHandedOut) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.link_mbps = 4'000'000'000u;  // no pacer
    SimHost &s = net.add_host(1, cfg, 1024);
    SimHost &c = net.add_host(2, cfg, 1024);
    EchoServer server(s, 99);
    EchoClient client(c);
    for (int i = 0; i < 5; ++i) client.send({1, 99}, 100, net.now());
    EXPECT_EQ(c.engine.queued_replies(), 0u) << "requests are not replies";
    net.stall_tx(1, UINT64_MAX);  // the server's port takes nothing: its replies stay queued
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        return server.served() == 5;
    }));
    EXPECT_EQ(s.engine.queued_replies(), 5u);
    EXPECT_EQ(c.engine.queued_replies(), 0u);
    // A reply of several packets counts once until its last packet is out.
    client.send({1, 99}, 5 * cfg.max_payload(), net.now());
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        return server.served() == 6;
    }));
    EXPECT_EQ(s.engine.queued_replies(), 6u);
    net.stall_tx(1, net.now());
    s.engine.poll(net.now(), 7);  // the five short replies and two packets of the long one
    EXPECT_EQ(s.engine.queued_replies(), 1u);
    s.engine.poll(net.now(), 1);
    EXPECT_EQ(s.engine.queued_replies(), 1u);
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        return client.completed() == 6;
    }));
    EXPECT_EQ(s.engine.queued_replies(), 0u);
    // A queued reply whose RPC goes away leaves the count with it.
    for (int i = 0; i < 3; ++i) client.send({1, 99}, 100, net.now());
    net.stall_tx(1, UINT64_MAX);
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        return server.served() == 9;
    }));
    EXPECT_EQ(s.engine.queued_replies(), 3u);
    EXPECT_EQ(s.engine.close_socket(server.socket(), net.now()), 0);
    EXPECT_EQ(s.engine.queued_replies(), 0u);
}

// The pacer never holds a message with fewer than throttle_min_bytes left (Linux's rule), though
// its packets still fill the NIC queue estimate: 200 requests of 100 B (about 13 us at 25 Gbps,
// more than max_nic_queue_ns) leave in one poll and the longer one behind them waits; with the
// threshold at 0 the pacer holds the short ones too.
TEST(Transmit, PacerNeverHoldsMessagesShorterThanThrottleMinBytes) {
    for (uint32_t min_bytes : {200u, 0u}) {
        SCOPED_TRACE(min_bytes);
        SimNetwork net;
        EngineConfig cfg;
        cfg.throttle_min_bytes = min_bytes;
        SimHost &c = net.add_host(2, cfg, 1024);
        SocketId sock;
        ASSERT_EQ(c.engine.open_socket(0, &sock), 0);
        std::vector<uint8_t> body(1000, 3);
        send_requests(c, sock, body, 100, 200);
        const uint64_t long_id = send_requests(c, sock, body, 1000, 1);
        c.engine.poll(1'000);
        const std::vector<uint64_t> ids = take_data_ids(c);
        const bool long_out = std::find(ids.begin(), ids.end(), long_id) != ids.end();
        const size_t short_out = ids.size() - (long_out ? 1 : 0);
        EXPECT_FALSE(long_out);  // SRPT puts it last, and by then the NIC queue is long
        EXPECT_GT(c.engine.stats().pacer_throttled, 0u);
        if (min_bytes == 200) {
            EXPECT_EQ(short_out, 200u);
        } else {
            EXPECT_LT(short_out, 120u);
        }
    }
}

// OutMessage::copy: the engine keeps its own copy of a short message, so the caller's memory
// is free when the send returns (here scribbled over at once), a lost packet is resent from
// the copy, and no kOutReleased completion comes. Both halves: the request from a user buffer,
// the reply from the request's own bpages, freed straight after send_reply.
TEST(Transmit, CopiedMessagesAreResentFromTheEnginesCopyAndReleaseNothing) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.tick_ns = 100'000;
    SimHost &s = net.add_host(1, cfg, 1024);
    SimHost &c = net.add_host(2, cfg, 1024);
    SocketId ss, cs;
    ASSERT_EQ(s.engine.open_socket(99, &ss), 0);
    ASSERT_EQ(c.engine.open_socket(0, &cs), 0);
    // The first DATA each way is lost: both messages must be resent.
    net.add_drop_rule({.type = wire::PacketType::kData, .src_ip = 2});
    net.add_drop_rule({.type = wire::PacketType::kData, .src_ip = 1});
    constexpr uint32_t kLen = OutMessage::kCopyMax;
    std::vector<uint8_t> buf(kLen);
    for (uint32_t i = 0; i < kLen; ++i) buf[i] = test::pattern_byte(3, i);
    const std::vector<uint8_t> sent = buf;
    OutMessage req = OutMessage::contiguous(buf.data(), kLen, 77);
    req.copy = true;
    uint64_t id = 0;
    ASSERT_EQ(c.engine.send_request(cs, {1, 99}, req, 5, net.now(), &id), 0);
    std::fill(buf.begin(), buf.end(), 0xEE);
    bool replied = false;
    Message resp;
    bool done = false;
    for (int i = 0; i < 200'000 && !done; ++i) {
        net.step();
        Message m;
        if (!replied && s.engine.recv(ss, kRecvRequest, 0, &m) == 0) {
            ASSERT_EQ(test::read_message(s, m), sent);
            OutMessage reply = test::bpage_message(s, m, 88);
            reply.copy = true;
            ASSERT_EQ(s.engine.send_reply(ss, m.peer, m.id, reply, net.now()), 0);
            std::fill_n(s.pool.base() + m.bpage_offsets[0], kLen, 0xDD);
            s.pool.release(m.bpage_offsets, m.num_bpages);
            replied = true;
        }
        done = c.engine.recv(cs, kRecvResponse, 0, &resp) == 0;
    }
    ASSERT_TRUE(done);
    EXPECT_EQ(resp.error, 0);
    EXPECT_EQ(test::read_message(c, resp), sent);
    c.pool.release(resp.bpage_offsets, resp.num_bpages);
    EXPECT_EQ(net.drop_rule(0).dropped, 1u);
    EXPECT_EQ(net.drop_rule(1).dropped, 1u);
    EXPECT_GE(c.engine.stats().retransmitted_packets, 1u);
    EXPECT_GE(s.engine.stats().retransmitted_packets, 1u);
    for (int i = 0; i < 20'000; ++i) net.step();  // the ACK frees the server's RPC
    EXPECT_EQ(s.engine.live_rpcs(), 0u);
    EXPECT_TRUE(c.released_tokens.empty());
    EXPECT_TRUE(s.released_tokens.empty());
}

TEST(Transmit, CopyRefusesAMessageLongerThanTheRpcHolds) {
    SimNetwork net;
    SimHost &c = net.add_host(2, EngineConfig{}, 64);
    SocketId cs;
    ASSERT_EQ(c.engine.open_socket(0, &cs), 0);
    std::vector<uint8_t> buf(OutMessage::kCopyMax + 1, 1);
    OutMessage m = OutMessage::contiguous(buf.data(), OutMessage::kCopyMax + 1);
    m.copy = true;
    uint64_t id = 0;
    EXPECT_EQ(c.engine.send_request(cs, {1, 99}, m, 1, 0, &id), -EMSGSIZE);
    EXPECT_EQ(c.engine.live_rpcs(), 0u);
    m.copy = false;  // borrowed, any length goes
    EXPECT_EQ(c.engine.send_request(cs, {1, 99}, m, 1, 0, &id), 0);
}

}  // namespace
}  // namespace homa
