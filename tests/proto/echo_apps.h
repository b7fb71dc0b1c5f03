// Run-to-completion echo client and server on top of a simulated host: what an application on a
// worker lcore does, written against the engine's API. The server replies zero-copy with the
// request's own bpages and returns them to the pool when the engine releases the reply.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "tests/fakes/sim_network.h"

namespace homa::test {

inline uint8_t pattern_byte(uint64_t seed, uint32_t i) {
    return static_cast<uint8_t>((seed * 131 + i * 7 + (i >> 8)) & 0xFF);
}

inline std::vector<uint8_t> read_message(SimHost &h, const Message &m) {
    std::vector<uint8_t> out(m.length);
    for (uint32_t i = 0; i < m.length; ++i) {
        out[i] =
            h.pool.base()[m.bpage_offsets[i >> wire::kBpageShift] + (i & (wire::kBpageSize - 1))];
    }
    return out;
}

inline OutMessage bpage_message(SimHost &h, const Message &m, uint64_t token) {
    OutMessage out;
    out.token = token;
    for (uint32_t i = 0; i < m.num_bpages; ++i) {
        uint32_t len = std::min<uint32_t>(wire::kBpageSize, m.length - i * wire::kBpageSize);
        out.pieces[out.num_pieces++] = {h.pool.base() + m.bpage_offsets[i], len};
    }
    return out;
}

class EchoServer {
  public:
    EchoServer(SimHost &h, uint16_t port) : h_(h) {
        EXPECT_EQ(h.engine.open_socket(port, &sock_), 0);
    }
    /** Answers ready requests (at most `limit`: a server with a limited service rate) and frees
     *  the bpages of released replies. */
    void serve(uint64_t now, uint64_t limit = UINT64_MAX) {
        Message m;
        for (uint64_t n = 0; n < limit && h_.engine.recv(sock_, kRecvRequest, 0, &m) == 0; ++n) {
            uint64_t token = next_token_++;
            pending_[token] = m;
            served_from_.push_back(m.peer.ip.ipv4());
            ASSERT_EQ(h_.engine.send_reply(sock_, m.peer, m.id, bpage_message(h_, m, token), now),
                      0);
            ++served_;
        }
        for (uint64_t t : h_.released_tokens) {
            auto it = pending_.find(t);
            ASSERT_NE(it, pending_.end());
            h_.pool.release(it->second.bpage_offsets, it->second.num_bpages);
            pending_.erase(it);
        }
        h_.released_tokens.clear();
    }
    uint64_t served() const { return served_; }
    /** Peer address of each request, in the order requests were completely received. */
    const std::vector<uint32_t> &served_from() const { return served_from_; }
    size_t pending() const { return pending_.size(); }
    SocketId socket() const { return sock_; }

  private:
    SimHost &h_;
    SocketId sock_ = 0;
    uint64_t next_token_ = 1;
    std::map<uint64_t, Message> pending_;
    std::vector<uint32_t> served_from_;
    uint64_t served_ = 0;
};

class EchoClient {
  public:
    /** With `tolerate_errors`, responses that carry an error (ETIMEDOUT, …) are counted in
     *  errors() instead of failing the test. */
    explicit EchoClient(SimHost &h, bool tolerate_errors = false)
        : h_(h), tolerate_errors_(tolerate_errors) {
        EXPECT_EQ(h.engine.open_socket(0, &sock_), 0);
    }

    uint64_t send(Endpoint server, uint32_t length, uint64_t now) {
        uint64_t token = next_token_++;
        auto &buf = requests_[token];
        buf.resize(length);
        for (uint32_t i = 0; i < length; ++i) buf[i] = pattern_byte(token, i);
        uint64_t id = 0;
        int rc = h_.engine.send_request(
            sock_, server, OutMessage::contiguous(buf.data(), length, token), token, now, &id);
        EXPECT_EQ(rc, 0);
        outstanding_[token] = now;
        tokens_[id] = token;
        return id;
    }

    /** Stops waiting for RPC `id` (the application aborted it without an error). */
    void forget(uint64_t id) {
        auto it = tokens_.find(id);
        if (it != tokens_.end()) outstanding_.erase(it->second);
    }

    /** Takes responses, checks each byte, frees their bpages and released request buffers.
     *  Given the time, also records each RPC's latency (latencies()). */
    void poll(uint64_t now = 0) {
        Message m;
        while (h_.engine.recv(sock_, kRecvResponse, 0, &m) == 0) {
            auto it = requests_.find(m.cookie);
            ASSERT_NE(it, requests_.end()) << "response with unknown cookie " << m.cookie;
            if (!tolerate_errors_) { EXPECT_EQ(m.error, 0); }
            if (m.error != 0) {
                ++errors_;
                error_codes_.push_back(m.error);
            } else if (read_message(h_, m) != it->second) {
                ++corrupt_;
            }
            completion_order_.push_back(m.cookie);
            if (now != 0 && m.error == 0) {
                latencies_.push_back(
                    {static_cast<uint32_t>(it->second.size()), now - outstanding_[m.cookie]});
            }
            h_.pool.release(m.bpage_offsets, m.num_bpages);
            outstanding_.erase(m.cookie);
            ++completed_;
        }
        for (uint64_t t : h_.released_tokens) requests_.erase(t);
        h_.released_tokens.clear();
    }

    uint64_t completed() const { return completed_; }
    uint64_t corrupt() const { return corrupt_; }
    uint64_t errors() const { return errors_; }
    const std::vector<int> &error_codes() const { return error_codes_; }
    size_t outstanding() const { return outstanding_.size(); }
    size_t buffers_held() const { return requests_.size(); }
    const std::vector<uint64_t> &completion_order() const { return completion_order_; }
    struct Latency {
        uint32_t length;
        uint64_t ns;
    };
    /** Of RPCs completed without error by poll(now), in completion order. */
    const std::vector<Latency> &latencies() const { return latencies_; }
    SocketId socket() const { return sock_; }

  private:
    SimHost &h_;
    bool tolerate_errors_ = false;
    SocketId sock_ = 0;
    uint64_t next_token_ = 1;
    std::map<uint64_t, std::vector<uint8_t>> requests_;
    std::map<uint64_t, uint64_t> outstanding_;
    std::map<uint64_t, uint64_t> tokens_;  ///< RPC id -> token (= cookie).
    std::vector<uint64_t> completion_order_;
    std::vector<Latency> latencies_;
    uint64_t completed_ = 0;
    uint64_t corrupt_ = 0;
    uint64_t errors_ = 0;
    std::vector<int> error_codes_;
};

}  // namespace homa::test
