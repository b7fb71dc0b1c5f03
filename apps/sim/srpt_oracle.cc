// See srpt_oracle.h.
#include "apps/sim/srpt_oracle.h"

#include <queue>

#include "apps/sim/event_queue.h"

namespace homa::sim {
namespace {

enum class Kind : uint8_t { kArrival, kHostFree, kAtSwitch, kPortFree, kDeliver };

struct Event {
    Kind kind;
    uint32_t a;
};

struct Packet {
    uint32_t msg;
    uint32_t payload;
    uint32_t key;  // bytes the message had left to send when this packet left its host
    uint64_t seq;  // arrival order at the port, for ties
};

// Min-heap orders: fewest bytes left first, then first arrived / first queued.
struct MsgLater {
    bool operator()(const std::pair<uint32_t, uint32_t> &a,
                    const std::pair<uint32_t, uint32_t> &b) const noexcept {
        return a > b;  // (remaining, message index); indices are in arrival order
    }
};
struct PacketLater {
    const std::vector<Packet> *packets;
    bool operator()(uint32_t a, uint32_t b) const noexcept {
        const Packet &x = (*packets)[a], &y = (*packets)[b];
        return x.key != y.key ? x.key > y.key : x.seq > y.seq;
    }
};

class Oracle {
  public:
    Oracle(const Topology &t, std::span<const MessageSpec> m)
        : topo_(t),
          msgs_(m.begin(), m.end()),
          first_reply_(m.size()),
          remaining_(m.size()),
          undelivered_(m.size()),
          done_(m.size(), 0),
          hosts_(t.hosts, Link{PortQueue(PacketLater{&packets_})}) {
        for (size_t i = 0; i < m.size(); ++i) remaining_[i] = undelivered_[i] = m[i].length;
    }

    std::vector<SimTime> run() {
        if (first_reply_ > 0) q_.push(msgs_[0].arrival, {Kind::kArrival, 0});
        SimTime now = 0;
        while (!q_.empty()) {
            Event e = q_.pop(&now);
            now_ = now;
            dispatch(e);
        }
        return std::move(done_);
    }

  private:
    using MsgQueue = std::priority_queue<std::pair<uint32_t, uint32_t>,
                                         std::vector<std::pair<uint32_t, uint32_t>>, MsgLater>;
    using PortQueue = std::priority_queue<uint32_t, std::vector<uint32_t>, PacketLater>;
    struct Link {
        explicit Link(PortQueue q) : port(std::move(q)) {}
        MsgQueue host;  // messages with unsent bytes at this host
        bool host_busy = false;
        PortQueue port;  // packets queued at the switch port down to this host
        bool port_busy = false;
        uint32_t on_port = 0;
    };

    uint32_t new_packet(const Packet &p) {
        if (free_.empty()) {
            packets_.push_back(p);
            return static_cast<uint32_t>(packets_.size() - 1);
        }
        uint32_t i = free_.back();
        free_.pop_back();
        packets_[i] = p;
        return i;
    }

    void host_send(uint32_t h) {
        Link &l = hosts_[h];
        if (l.host_busy || l.host.empty()) return;
        auto [left, m] = l.host.top();
        l.host.pop();
        uint32_t payload = std::min(left, topo_.max_payload());
        remaining_[m] = left - payload;
        if (remaining_[m] > 0) l.host.push({remaining_[m], m});
        uint32_t p = new_packet({m, payload, left, 0});
        SimTime wt = topo_.wire_time(Topology::data_frame_bytes(payload));
        l.host_busy = true;
        q_.push(now_ + wt, {Kind::kHostFree, h});
        q_.push(now_ + wt + (topo_.propagation_ns + topo_.switch_ns) * kPsPerNs,
                {Kind::kAtSwitch, p});
    }

    void port_send(uint32_t h) {
        Link &l = hosts_[h];
        if (l.port_busy || l.port.empty()) return;
        uint32_t p = l.port.top();
        l.port.pop();
        l.port_busy = true;
        l.on_port = p;
        SimTime wt = topo_.wire_time(Topology::data_frame_bytes(packets_[p].payload));
        q_.push(now_ + wt, {Kind::kPortFree, h});
    }

    void dispatch(const Event &e) {
        switch (e.kind) {
            case Kind::kArrival: {
                const MessageSpec &m = msgs_[e.a];
                hosts_[m.src].host.push({m.length, e.a});
                if (e.a + 1 < first_reply_)
                    q_.push(msgs_[e.a + 1].arrival, {Kind::kArrival, e.a + 1});
                host_send(m.src);
                break;
            }
            case Kind::kHostFree:
                hosts_[e.a].host_busy = false;
                host_send(e.a);
                break;
            case Kind::kAtSwitch: {
                uint32_t dst = msgs_[packets_[e.a].msg].dst;
                packets_[e.a].seq = seq_++;
                hosts_[dst].port.push(e.a);
                port_send(dst);
                break;
            }
            case Kind::kPortFree: {
                Link &l = hosts_[e.a];
                l.port_busy = false;
                q_.push(now_ + topo_.propagation_ns * kPsPerNs, {Kind::kDeliver, l.on_port});
                port_send(e.a);
                break;
            }
            case Kind::kDeliver: {
                const Packet &p = packets_[e.a];
                undelivered_[p.msg] -= p.payload;
                const uint32_t m = p.msg;
                free_.push_back(e.a);
                if (undelivered_[m] != 0 || m >= first_reply_) break;
                done_[m] = now_;
                // The receiving application replies at once (a message of its own, not timed).
                const uint32_t r = static_cast<uint32_t>(msgs_.size());
                msgs_.push_back({now_, msgs_[m].dst, msgs_[m].src, kReplyBytes, false});
                remaining_.push_back(kReplyBytes);
                undelivered_.push_back(kReplyBytes);
                hosts_[msgs_[r].src].host.push({kReplyBytes, r});
                host_send(msgs_[r].src);
                break;
            }
        }
    }

    Topology topo_;
    std::vector<MessageSpec> msgs_;  // the given messages, then the replies
    uint32_t first_reply_;
    std::vector<uint32_t> remaining_;    // unsent bytes per message
    std::vector<uint32_t> undelivered_;  // bytes not yet at the receiver
    std::vector<SimTime> done_;
    std::vector<Packet> packets_;
    std::vector<uint32_t> free_;
    std::vector<Link> hosts_;
    EventQueue<Event> q_;
    SimTime now_ = 0;
    uint64_t seq_ = 0;
};

}  // namespace

std::vector<SimTime> srpt_oracle(const Topology &topo, std::span<const MessageSpec> messages) {
    return Oracle(topo, messages).run();
}

}  // namespace homa::sim
