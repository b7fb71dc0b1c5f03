// A deterministic simulated network of protocol engines in one process: a clock under test
// control, every packet turned into a real frame (encode_l2l3 + header + payload), validated by
// decode_frame and delivered to the engine owning its destination IP. Faults on every sender's
// link come from proto's FaultInjector (drop, duplicate, reorder = delay by k frames, corrupt),
// seeded per host so that a run is reproducible; targeted drop rules ("the Nth GRANT from A to
// B") make one loss at a time. Every packet an engine emits is logged (before faults, with
// whether it was dropped) so tests can observe grants, priorities, resends and order; frames
// that fail validation at delivery are counted per reason, like the dataplane does.
// A host's port can be stalled (stall_tx): as a DPDK port that stops taking frames, its frames
// wait in a port queue, the engine gets no TX room and is told of the backlog each step, as the
// worker does.
// Frames are built by homa-sim's frame builder (apps/sim/frame_builder.h), so the proto tests
// and the cluster simulator hand engines identical frames, and frames in flight are events on
// homa-sim's event core (apps/sim/event_queue.h): ordered by send time, then by send order, and
// taken by their destination at its next step. Only the clock is SimNetwork's own: step()
// advances every host by a fixed amount, because the tests written against SimNetwork count
// steps and rely on every engine being polled each step.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "apps/sim/event_queue.h"
#include "apps/sim/frame_builder.h"
#include "homa/proto/decode.h"
#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "homa/proto/fault.h"
#include "tests/fakes/fake_pool.h"

namespace homa::test {

struct SimPacket {
    uint64_t time_ns;
    uint32_t src_ip;
    uint32_t dst_ip;
    uint8_t priority;  ///< As read back from the frame's TOS byte.
    wire::PacketType type;
    uint64_t sender_id;
    uint32_t offset;  ///< DATA: seg offset; GRANT: granted offset; RESEND: offset.
    uint32_t length;  ///< DATA: payload bytes; RESEND: length.
    uint8_t grant_priority;
    bool retransmit = false;  ///< DATA sent in answer to RESEND / RPC_UNKNOWN.
    bool dropped = false;     ///< Lost by a drop rule or the drop fault.
};

/** Drops matching packets number `first` .. `first + count - 1` (1-based, counted per rule). */
struct DropRule {
    std::optional<wire::PacketType> type;  ///< Any type when empty.
    uint32_t src_ip = 0;                   ///< 0 = any.
    uint32_t dst_ip = 0;                   ///< 0 = any.
    uint64_t first = 1;
    uint64_t count = 1;    ///< UINT64_MAX: from `first` on, forever.
    uint64_t matched = 0;  ///< Out: packets that matched so far.
    uint64_t dropped = 0;  ///< Out: packets this rule dropped.
};

/** A frame on a simulated link, with the host it was sent to (corruption may garble the
 *  destination inside the bytes; the link still carries it there, like a switch port). */
struct SimFrame {
    uint32_t dst_ip = 0;
    std::vector<uint8_t> bytes;
};

struct SimHost {
    SimHost(const EngineConfig &cfg, uint32_t pool_bpages, const FaultConfig &faults,
            uint32_t small_slots = 0, const TableMemory &tables = {})
        : pool(pool_bpages, small_slots),
          engine(cfg, pool.ops(tables)),
          injector(faults),
          delayed(faults.delay_capacity) {}
    FakePool pool;
    Engine engine;
    std::vector<uint64_t> released_tokens;
    FaultInjector injector;  ///< On this host's outgoing link.
    DelayLine<SimFrame> delayed;
    std::deque<SimFrame> port_queue;  ///< Frames held while the port is stalled.
    uint64_t stalled_until = 0;       ///< stall_tx(): no frame leaves before.
    uint64_t decode_errors[wire::kNumDecodeErrors] = {};
    uint64_t decode_error_total() const {
        uint64_t n = 0;
        for (uint64_t e : decode_errors) n += e;
        return n;
    }
};

class SimNetwork {
  public:
    SimNetwork() : SimNetwork(FaultConfig{}) {}
    explicit SimNetwork(const FaultConfig &f) : faults_(f) {
        std::string why;
        if (!f.validate(&why)) throw std::invalid_argument(why);
    }

    /** Hosts added from now on take their engines' tables from `t` (PoolOps::tables). */
    void use_tables(const TableMemory &t) { tables_ = t; }

    /** Adds a host; `small_slots` lets that many messages of at most FakePool::kSmallSlot
     *  bytes wait without a whole bpage each. */
    SimHost &add_host(uint32_t ip, EngineConfig cfg, uint32_t pool_bpages = 512,
                      uint32_t small_slots = 0) {
        cfg.local_ip = ip;
        // Each link gets its own streams: same faults, different (but fixed) packets.
        FaultConfig f = faults_;
        for (FaultRule *r : {&f.drop, &f.duplicate, &f.reorder, &f.corrupt})
            r->seed ^= ip * 0x9E37u;
        auto h = std::make_unique<SimHost>(cfg, pool_bpages, f, small_slots, tables_);
        if (!h->engine.ok()) throw std::runtime_error(h->engine.error());
        SimHost &ref = *h;
        hosts_[ip] = std::move(h);
        return ref;
    }

    /** Adds a targeted drop rule; returns its index for drop_rule(). */
    size_t add_drop_rule(const DropRule &r) {
        rules_.push_back(r);
        return rules_.size() - 1;
    }
    const DropRule &drop_rule(size_t i) const { return rules_.at(i); }
    void clear_drop_rules() { rules_.clear(); }

    uint64_t now() const { return now_ns_; }
    /** Host `ip`'s port takes no frame until `until_ns` (a stuck NIC queue, a paused link). */
    void stall_tx(uint32_t ip, uint64_t until_ns) { hosts_.at(ip)->stalled_until = until_ns; }
    const std::vector<SimPacket> &log() const { return log_; }
    uint64_t frames_delivered() const { return delivered_; }
    /** Packets in the log matching a type (and a source, if given). */
    uint64_t count(wire::PacketType t, uint32_t src_ip = 0) const {
        return static_cast<uint64_t>(std::count_if(log_.begin(), log_.end(), [&](auto &p) {
            return p.type == t && (src_ip == 0 || p.src_ip == src_ip);
        }));
    }
    FaultStats fault_stats() const {
        FaultStats t;
        for (auto &[ip, h] : hosts_) {
            const FaultStats &s = h->injector.stats();
            t.frames += s.frames;
            t.dropped += s.dropped;
            t.duplicated += s.duplicated;
            t.reordered += s.reordered;
            t.corrupted += s.corrupted;
        }
        return t;
    }

    /** A frame from outside the simulated hosts (a handcrafted or hostile sender): `dst_ip`
     *  takes it at its next step, after the frames sent before it. */
    void inject(uint32_t dst_ip, std::vector<uint8_t> frame) {
        deliver(SimFrame{dst_ip, std::move(frame)});
    }

    /** One step: deliver the frames sent so far, poll every engine, carry their output, advance
     *  time. */
    void step(uint64_t advance_ns = 1000) {
        // Frames carried in this step are scheduled at this time too, after the loop: they
        // reach their hosts at the next step.
        const sim::SimTime now = now_ns_ * sim::kPsPerNs;
        while (!in_flight_.empty() && in_flight_.next_time() <= now) {
            sim::SimTime sent;
            uint32_t slot = in_flight_.pop(&sent);
            SimFrame f = std::move(frames_[slot]);
            free_slots_.push_back(slot);
            auto it = hosts_.find(f.dst_ip);
            if (it == hosts_.end()) continue;
            SimHost &h = *it->second;
            wire::PacketView v;
            wire::DecodeError e = wire::decode_frame(f.bytes, v);
            if (e != wire::DecodeError::kOk) {
                ++h.decode_errors[static_cast<size_t>(e)];  // corrupted on the way
                continue;
            }
            h.engine.handle_packet(v, now_ns_);
            ++delivered_;
        }
        for (auto &[ip, h] : hosts_) {
            bool stalled = now_ns_ < h->stalled_until;
            if (stalled) {
                h->engine.note_backlog();
                h->engine.poll(now_ns_, 0);  // control only: the port has no room
            } else {
                release_port_queue(*h);
                h->engine.poll(now_ns_);
            }
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
    // Adapts a SimFrame to FaultInjector::pass.
    struct LinkOps {
        SimNetwork &net;
        void drop(const SimFrame &) {}
        std::span<uint8_t> bytes(SimFrame &f) { return f.bytes; }
        bool copy(const SimFrame &f, SimFrame *out) {
            *out = f;
            return true;
        }
        void emit(SimFrame &f) { net.deliver(std::move(f)); }
    };

    void release_port_queue(SimHost &h) {
        LinkOps ops{*this};
        while (!h.port_queue.empty()) {
            h.injector.pass(std::move(h.port_queue.front()), h.delayed, ops);
            h.port_queue.pop_front();
        }
    }

    // Into flight, sent now; a frame to nobody is lost at once.
    void deliver(SimFrame f) {
        if (hosts_.find(f.dst_ip) == hosts_.end()) return;
        uint32_t slot;
        if (free_slots_.empty()) {
            slot = static_cast<uint32_t>(frames_.size());
            frames_.push_back(std::move(f));
        } else {
            slot = free_slots_.back();
            free_slots_.pop_back();
            frames_[slot] = std::move(f);
        }
        in_flight_.push(now_ns_ * sim::kPsPerNs, slot);
    }

    void carry(uint32_t src_ip, SimHost &h) {
        LinkOps ops{*this};
        bool any = false;
        for (const TxPacket &p : h.engine.tx_packets()) {
            any = true;
            std::vector<uint8_t> f(sim::frame_capacity(p));
            f.resize(sim::build_frame(src_ip, p, f));
            SimPacket &logged = record(f);
            if (hosts_.find(p.dst_ip.ipv4()) == hosts_.end()) continue;  // nobody there: lost
            if (rule_drops(logged)) {
                logged.dropped = true;
                continue;
            }
            if (now_ns_ < h.stalled_until) {
                h.port_queue.push_back(SimFrame{p.dst_ip.ipv4(), std::move(f)});
                continue;
            }
            uint64_t dropped_before = h.injector.stats().dropped;
            h.injector.pass(SimFrame{p.dst_ip.ipv4(), std::move(f)}, h.delayed, ops);
            logged.dropped = h.injector.stats().dropped != dropped_before;
        }
        if (!any) h.delayed.flush([&](SimFrame &f) { deliver(std::move(f)); });
        h.engine.clear_tx();
        for (const Completion &c : h.engine.completions()) h.released_tokens.push_back(c.token);
        h.engine.clear_completions();
    }

    bool rule_drops(const SimPacket &p) {
        for (DropRule &r : rules_) {
            if (r.type && *r.type != p.type) continue;
            if ((r.src_ip && r.src_ip != p.src_ip) || (r.dst_ip && r.dst_ip != p.dst_ip)) continue;
            uint64_t nth = ++r.matched;
            if (nth >= r.first && (r.count == UINT64_MAX || nth - r.first < r.count)) {
                ++r.dropped;
                return true;
            }
        }
        return false;
    }

    SimPacket &record(const std::vector<uint8_t> &f) {
        wire::PacketView v;
        if (wire::decode_frame(f, v) != wire::DecodeError::kOk) {
            throw std::logic_error("engine emitted a frame that does not validate");
        }
        SimPacket p{
            now_ns_, v.src_ip(), v.dst_ip(), v.ip_priority(), v.type(), v.common().sender_id.get(),
            0,       0,          0};
        if (auto *d = v.data()) {
            p.offset = d->seg_offset.get();
            p.length = static_cast<uint32_t>(v.payload().size());
            p.retransmit = d->retransmit != 0;
        } else if (auto *g = v.grant()) {
            p.offset = g->offset.get();
            p.grant_priority = g->priority;
        } else if (auto *r = v.resend()) {
            p.offset = r->offset.get();
            p.length = r->length.get();
        }
        log_.push_back(p);
        return log_.back();
    }

    FaultConfig faults_;
    TableMemory tables_;
    std::map<uint32_t, std::unique_ptr<SimHost>> hosts_;
    std::vector<DropRule> rules_;
    std::vector<SimPacket> log_;
    sim::EventQueue<uint32_t> in_flight_;  ///< Slots of frames_, by send time.
    std::vector<SimFrame> frames_;
    std::vector<uint32_t> free_slots_;
    uint64_t now_ns_ = 1'000'000;
    uint64_t delivered_ = 0;
};

}  // namespace homa::test
