// A deterministic simulated network of protocol engines in one process: a clock under test
// control, every packet turned into a real frame (encode_l2l3 + header + payload), validated by
// decode_frame and delivered to the engine owning its destination IP. Optional duplication and
// reordering; every packet is logged so tests can observe grants, priorities and order.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "homa/proto/decode.h"
#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "tests/fakes/fake_pool.h"

namespace homa::test {

struct SimPacket {
    uint64_t time_ns;
    uint32_t src_ip;
    uint32_t dst_ip;
    uint8_t priority;  ///< As read back from the frame's TOS byte.
    wire::PacketType type;
    uint64_t sender_id;
    uint32_t offset;   ///< DATA: seg offset; GRANT: granted offset.
    uint32_t length;   ///< DATA: payload bytes.
    uint8_t grant_priority;
};

struct SimHost {
    SimHost(const EngineConfig &cfg, uint32_t pool_bpages)
        : pool(pool_bpages), engine(cfg, pool.ops()) {}
    FakePool pool;
    Engine engine;
    std::deque<std::vector<uint8_t>> inbox;
    std::vector<uint64_t> released_tokens;
};

struct SimFaults {
    double duplicate = 0;  ///< Probability a frame is delivered twice.
    double reorder = 0;    ///< Probability a frame jumps ahead of the queue.
    uint64_t seed = 1;
};

class SimNetwork {
public:
    using Faults = SimFaults;
    SimNetwork() : SimNetwork(SimFaults{}) {}
    explicit SimNetwork(SimFaults f) : faults_(f), rng_(f.seed) {}

    SimHost &add_host(uint32_t ip, EngineConfig cfg, uint32_t pool_bpages = 512) {
        cfg.local_ip = ip;
        auto h = std::make_unique<SimHost>(cfg, pool_bpages);
        if (!h->engine.ok()) throw std::runtime_error(h->engine.error());
        SimHost &ref = *h;
        hosts_[ip] = std::move(h);
        return ref;
    }

    uint64_t now() const { return now_ns_; }
    const std::vector<SimPacket> &log() const { return log_; }
    uint64_t frames_delivered() const { return delivered_; }

    /** One step: deliver queued frames, poll every engine, carry their output, advance time. */
    void step(uint64_t advance_ns = 1000) {
        for (auto &[ip, h] : hosts_) {
            while (!h->inbox.empty()) {
                std::vector<uint8_t> f = std::move(h->inbox.front());
                h->inbox.pop_front();
                wire::PacketView v;
                if (wire::decode_frame(f, v) != wire::DecodeError::kOk) {
                    throw std::logic_error("engine emitted a frame that does not validate");
                }
                h->engine.handle_packet(v, now_ns_);
                ++delivered_;
            }
        }
        for (auto &[ip, h] : hosts_) {
            h->engine.poll(now_ns_);
            carry(ip, *h);
        }
        now_ns_ += advance_ns;
    }

    /** Steps until `done` holds or `max_steps` pass; returns whether `done` held. */
    bool run_until(const std::function<bool()> &done, uint64_t max_steps = 2'000'000,
                   uint64_t advance_ns = 1000) {
        for (uint64_t i = 0; i < max_steps; ++i) {
            if (done()) return true;
            step(advance_ns);
        }
        return done();
    }

    /** Collects what an engine queued outside poll() (e.g. after send_request). */
    void flush(uint32_t ip) { carry(ip, *hosts_.at(ip)); }

private:
    void carry(uint32_t src_ip, SimHost &h) {
        for (const TxPacket &p : h.engine.tx_packets()) {
            auto dst = hosts_.find(p.dst_ip);
            if (dst == hosts_.end()) continue;  // nobody there: lost
            std::vector<uint8_t> f(64 + p.header_len + p.payload_len());
            wire::FrameAddr a;
            a.src_ip = src_ip;
            a.dst_ip = p.dst_ip;
            a.priority = p.priority;
            size_t n = wire::encode_l2l3(f, a, p.header_len + p.payload_len());
            std::memcpy(f.data() + n, p.header, p.header_len);
            n += p.header_len;
            for (uint8_t i = 0; i < p.num_payload; ++i) {
                std::memcpy(f.data() + n, p.payload[i].data, p.payload[i].length);
                n += p.payload[i].length;
            }
            f.resize(n);
            record(f);
            auto &inbox = dst->second->inbox;
            if (faults_.reorder > 0 && coin(faults_.reorder) && !inbox.empty()) {
                inbox.insert(inbox.begin() + static_cast<long>(rng_() % inbox.size()), f);
            } else {
                inbox.push_back(f);
            }
            if (faults_.duplicate > 0 && coin(faults_.duplicate)) inbox.push_back(f);
        }
        h.engine.clear_tx();
        for (const Completion &c : h.engine.completions()) h.released_tokens.push_back(c.token);
        h.engine.clear_completions();
    }

    void record(const std::vector<uint8_t> &f) {
        wire::PacketView v;
        if (wire::decode_frame(f, v) != wire::DecodeError::kOk) {
            throw std::logic_error("engine emitted a frame that does not validate");
        }
        SimPacket p{now_ns_, v.src_ip(), v.dst_ip(), v.ip_priority(), v.type(),
                    v.common().sender_id.get(), 0, 0, 0};
        if (auto *d = v.data()) {
            p.offset = d->seg_offset.get();
            p.length = static_cast<uint32_t>(v.payload().size());
        } else if (auto *g = v.grant()) {
            p.offset = g->offset.get();
            p.grant_priority = g->priority;
        }
        log_.push_back(p);
    }

    bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

    Faults faults_;
    std::mt19937_64 rng_;
    std::map<uint32_t, std::unique_ptr<SimHost>> hosts_;
    std::vector<SimPacket> log_;
    uint64_t now_ns_ = 1'000'000;
    uint64_t delivered_ = 0;
};

}  // namespace homa::test
