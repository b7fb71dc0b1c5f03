// See homa_cluster.h. The event loop: arrivals start requests; a host's link carries one frame
// at a time to the switch (propagation + switching later it is queued at the receiver's port);
// a switch port carries one frame at a time down to its host (propagation later it arrives);
// arriving frames are handled in one batch per host and instant, then the host's application
// runs and its engine is polled; every host also gets a poll per timer tick.
#include "apps/sim/homa_cluster.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "apps/sim/frame_builder.h"
#include "apps/sim/scratch_pool.h"
#include "homa/proto/decode.h"
#include "homa/proto/engine.h"
#include "homa/proto/rpc_id.h"

namespace homa::sim {
namespace {

constexpr uint16_t kServerPort = 99;

enum class Kind : uint8_t {
    kArrival,   // a: message index
    kNicDone,   // a: host
    kAtSwitch,  // a: frame
    kPortDone,  // a: port (= receiving host)
    kAtHost,    // a: frame
    kHandled,   // a: frame, after the host's CPU cost
    kService,   // a: host
    kNicReady,  // a: host, its next frame's CPU cost has passed
    kTick,      // a: host
};

struct Event {
    Kind kind;
    uint32_t a;
};

struct FrameMeta {
    uint32_t len = 0;
    uint16_t src = 0;
    uint16_t dst = 0;
    uint8_t priority = 0;
    SimTime ready = 0;  // earliest time the NIC may send it (host CPU cost)
};

}  // namespace

struct HomaCluster::Impl {
    struct Host {
        Host(const EngineConfig &cfg, uint32_t pool_pages)
            : pool(pool_pages), engine(cfg, pool.ops()) {}
        ScratchPool pool;
        Engine engine;
        SocketId client = 0, server = 0;
        std::deque<uint32_t> nic;  // frames waiting for the link
        bool link_busy = false;
        uint32_t on_link = 0;
        bool nic_ready_pending = false;
        std::vector<uint32_t> inbox;  // frames arrived, handled at the next service
        bool service_pending = false;
        SimTime cpu_free = 0;
        std::vector<uint32_t> msg_of_rpc;  // (client id - first) / stride -> message index
        uint64_t first_id = 2;
        uint64_t id_stride = 2;
        // The switch port that leads down to this host.
        bool port_busy = false;
        uint32_t on_port = 0;
        SimTime port_busy_ps = 0;
        SimTime port_first_start = 0;
    };

    Impl(HomaCluster &o, const Topology &t, std::span<const MessageSpec> m)
        : owner(o),
          topo(t),
          messages(m),
          sw(t.hosts, t.buffer_bytes),
          hop_ps(t.propagation_ns * kPsPerNs),
          switch_ps(t.switch_ns * kPsPerNs),
          slot(t.mtu + 128),
          zeros(wire::kMaxMessageLength) {}

    HomaCluster &owner;
    Topology topo;
    std::span<const MessageSpec> messages;
    std::vector<std::unique_ptr<Host>> hosts;
    OutputQueuedSwitch sw;
    EventQueue<Event> q;
    SimTime now = 0;
    SimTime hop_ps, switch_ps;
    size_t next_arrival = 0;
    uint64_t send_errors = 0;
    uint64_t frames_sent = 0;
    uint64_t events = 0;
    // Frame storage: fixed-size slots reused through a free list.
    uint32_t slot;
    std::vector<uint8_t> bytes;
    std::vector<FrameMeta> meta;
    std::vector<uint32_t> free_frames;
    std::vector<uint8_t> zeros;  // every message's (and reply's) contents
    PacketTrace trace, tx_trace;

    uint8_t *frame_bytes(uint32_t f) { return bytes.data() + size_t{f} * slot; }

    uint32_t new_frame() {
        if (free_frames.empty()) {
            uint32_t n = static_cast<uint32_t>(meta.size()), grow = std::max<uint32_t>(n, 1024);
            meta.resize(n + grow);
            bytes.resize(size_t{n + grow} * slot);
            for (uint32_t i = n + grow; i-- > n;) free_frames.push_back(i);
        }
        uint32_t f = free_frames.back();
        free_frames.pop_back();
        return f;
    }
    void free_frame(uint32_t f) { free_frames.push_back(f); }

    void schedule_service(uint32_t h) {
        Host &host = *hosts[h];
        if (host.service_pending) return;
        host.service_pending = true;
        q.push(now, {Kind::kService, h});
    }

    void start_message(uint32_t m) {
        const MessageSpec &spec = messages[m];
        Host &h = *hosts[spec.src];
        OutMessage out = OutMessage::contiguous(zeros.data(), spec.length, m);
        uint64_t id = 0;
        int rc = h.engine.send_request(h.client, {Topology::host_ip(spec.dst), kServerPort}, out, m,
                                       now / kPsPerNs, &id);
        if (rc != 0) {
            ++send_errors;
            return;
        }
        size_t k = (id - h.first_id) / h.id_stride;
        if (h.msg_of_rpc.size() <= k) h.msg_of_rpc.resize(k + 1, UINT32_MAX);
        h.msg_of_rpc[k] = m;
        service(spec.src);
    }

    // The host's applications: servers take requests (a message completes) and reply; clients
    // take replies. Received bpages go straight back to the pool.
    void run_apps(uint32_t h) {
        Host &host = *hosts[h];
        const uint64_t now_ns = now / kPsPerNs;
        Message msg;
        while (host.engine.recv(host.server, kRecvRequest, 0, &msg) == 0) {
            host.pool.ops().release(&host.pool, msg.bpage_offsets, msg.num_bpages);
            if (msg.error != 0) continue;
            int src = topo.host_index(msg.peer.ip.ipv4());
            if (src >= 0) {
                Host &client = *hosts[src];
                size_t k = (wire::client_id(msg.id) - client.first_id) / client.id_stride;
                if (k < client.msg_of_rpc.size() && client.msg_of_rpc[k] != UINT32_MAX) {
                    uint32_t m = client.msg_of_rpc[k];
                    if (owner.completed_at_[m] == 0) {
                        owner.completed_at_[m] = now;
                        // Includes the whole frame on the port now: one frame's resolution.
                        owner.busy_at_done_[m] = host.port_busy_ps;
                        ++owner.done_;
                    }
                }
            }
            OutMessage reply = OutMessage::contiguous(zeros.data(), kReplyBytes, 0);
            host.engine.send_reply(host.server, msg.peer, msg.id, reply, now_ns);
        }
        while (host.engine.recv(host.client, kRecvResponse, 0, &msg) == 0) {
            host.pool.ops().release(&host.pool, msg.bpage_offsets, msg.num_bpages);
        }
    }

    // Runs the host: handles what arrived, its applications, then polls its engine.
    void service(uint32_t h) {
        Host &host = *hosts[h];
        host.service_pending = false;
        const uint64_t now_ns = now / kPsPerNs;
        for (uint32_t f : host.inbox) {
            wire::PacketView v;
            if (wire::decode_frame({frame_bytes(f), meta[f].len}, v) == wire::DecodeError::kOk) {
                if (trace) trace(now, meta[f].src, h, v);
                host.engine.handle_packet(v, now_ns);
            }
            free_frame(f);
        }
        host.inbox.clear();
        run_apps(h);
        const uint32_t room = (!host.link_busy && host.nic.empty()) ? 1 : 0;
        host.engine.poll(now_ns, room);
        collect_tx(h);
        kick_nic(h);
    }

    void collect_tx(uint32_t h) {
        Host &host = *hosts[h];
        const uint32_t src_ip = Topology::host_ip(h);
        for (const TxPacket &p : host.engine.tx_packets()) {
            int dst = topo.host_index(p.dst_ip.ipv4());
            if (dst < 0) continue;  // nobody there
            uint32_t f = new_frame();
            size_t n = build_frame(src_ip, p, {frame_bytes(f), slot});
            if (n == 0) {
                free_frame(f);
                continue;
            }
            if (tx_trace) {
                wire::PacketView v;
                if (wire::decode_frame({frame_bytes(f), n}, v) == wire::DecodeError::kOk) {
                    tx_trace(now, h, static_cast<uint32_t>(dst), v);
                }
            }
            FrameMeta &fm = meta[f];
            fm.len = static_cast<uint32_t>(n);
            fm.src = static_cast<uint16_t>(h);
            fm.dst = static_cast<uint16_t>(dst);
            fm.priority = p.priority;
            fm.ready = now;
            if (topo.host_cpu_ns) {
                host.cpu_free = std::max(host.cpu_free, now) + topo.host_cpu_ns * kPsPerNs;
                fm.ready = host.cpu_free;
            }
            host.nic.push_back(f);
        }
        host.engine.clear_tx();
        host.engine.clear_completions();  // contents are the shared zeros: nothing to free
    }

    void kick_nic(uint32_t h) {
        Host &host = *hosts[h];
        if (host.link_busy || host.nic.empty()) return;
        uint32_t f = host.nic.front();
        if (meta[f].ready > now) {
            if (!host.nic_ready_pending) {
                host.nic_ready_pending = true;
                q.push(meta[f].ready, {Kind::kNicReady, h});
            }
            return;
        }
        host.nic.pop_front();
        host.link_busy = true;
        host.on_link = f;
        ++frames_sent;
        q.push(now + topo.wire_time(meta[f].len), {Kind::kNicDone, h});
    }

    void start_port(uint32_t p) {
        Host &port = *hosts[p];
        uint32_t f = sw.dequeue(p);
        port.port_busy = true;
        port.on_port = f;
        SimTime wt = topo.wire_time(meta[f].len);
        if (port.port_busy_ps == 0) port.port_first_start = now;
        port.port_busy_ps += wt;
        q.push(now + wt, {Kind::kPortDone, p});
    }

    void dispatch(const Event &e) {
        switch (e.kind) {
            case Kind::kArrival: {
                start_message(e.a);
                if (next_arrival < messages.size()) {
                    q.push(messages[next_arrival].arrival,
                           {Kind::kArrival, uint32_t(next_arrival)});
                    ++next_arrival;
                }
                break;
            }
            case Kind::kNicDone: {
                Host &host = *hosts[e.a];
                host.link_busy = false;
                q.push(now + hop_ps + switch_ps, {Kind::kAtSwitch, host.on_link});
                if (!host.nic.empty()) {
                    kick_nic(e.a);
                } else {
                    service(e.a);  // the link is free: the engine may send its next packet
                }
                break;
            }
            case Kind::kNicReady:
                hosts[e.a]->nic_ready_pending = false;
                kick_nic(e.a);
                break;
            case Kind::kAtSwitch: {
                const FrameMeta &fm = meta[e.a];
                if (!sw.enqueue(fm.dst, e.a, fm.len, fm.priority)) {
                    free_frame(e.a);
                    break;
                }
                if (!hosts[fm.dst]->port_busy) start_port(fm.dst);
                break;
            }
            case Kind::kPortDone: {
                Host &port = *hosts[e.a];
                port.port_busy = false;
                q.push(now + hop_ps, {Kind::kAtHost, port.on_port});
                if (sw.has_frame(e.a)) start_port(e.a);
                break;
            }
            case Kind::kAtHost: {
                Host &host = *hosts[meta[e.a].dst];
                if (topo.host_cpu_ns) {
                    host.cpu_free = std::max(host.cpu_free, now) + topo.host_cpu_ns * kPsPerNs;
                    q.push(host.cpu_free, {Kind::kHandled, e.a});
                    break;
                }
                host.inbox.push_back(e.a);
                schedule_service(meta[e.a].dst);
                break;
            }
            case Kind::kHandled:
                hosts[meta[e.a].dst]->inbox.push_back(e.a);
                schedule_service(meta[e.a].dst);
                break;
            case Kind::kService:
                if (hosts[e.a]->service_pending) service(e.a);
                break;
            case Kind::kTick:
                service(e.a);
                q.push(now + hosts[e.a]->engine.config().tick_ns * kPsPerNs, {Kind::kTick, e.a});
                break;
        }
    }
};

HomaCluster::HomaCluster(const Topology &topo, const EngineConfig &engine,
                         std::span<const MessageSpec> messages, uint32_t pool_pages)
    : impl_(std::make_unique<Impl>(*this, topo, messages)),
      completed_at_(messages.size(), 0),
      busy_at_done_(messages.size(), 0) {
    for (uint32_t i = 0; i < topo.hosts; ++i) {
        EngineConfig cfg = engine;
        cfg.local_ip = Topology::host_ip(i);
        auto h = std::make_unique<Impl::Host>(cfg, pool_pages);
        if (!h->engine.ok()) throw std::invalid_argument(h->engine.error());
        if (h->engine.open_socket(kServerPort, &h->server) != 0 ||
            h->engine.open_socket(0, &h->client) != 0) {
            throw std::invalid_argument("cannot open the simulated host's sockets");
        }
        h->first_id = wire::client_id(cfg.first_client_id + 1);
        if (h->first_id < 2) h->first_id = 2;
        h->id_stride = cfg.id_stride;
        impl_->hosts.push_back(std::move(h));
    }
}

HomaCluster::~HomaCluster() = default;

void HomaCluster::run(SimTime until, const std::function<void(SimTime, uint64_t)> &progress) {
    Impl &s = *impl_;
    if (s.next_arrival == 0 && !s.messages.empty()) {
        s.q.push(s.messages[0].arrival, {Kind::kArrival, 0});
        s.next_arrival = 1;
        for (uint32_t h = 0; h < s.topo.hosts; ++h) {
            s.q.push(s.hosts[h]->engine.config().tick_ns * kPsPerNs, {Kind::kTick, h});
        }
    }
    while (!s.q.empty() && done_ < s.messages.size()) {
        if (s.q.next_time() > until) {
            s.now = until;
            break;
        }
        Event e = s.q.pop(&s.now);
        s.dispatch(e);
        if ((++s.events & 0xFFFF) == 0 && progress) progress(s.now, done_);
    }
}

const Engine &HomaCluster::engine(uint32_t h) const { return impl_->hosts.at(h)->engine; }

void HomaCluster::set_trace(PacketTrace trace) { impl_->trace = std::move(trace); }
void HomaCluster::set_tx_trace(PacketTrace trace) { impl_->tx_trace = std::move(trace); }

SimTime HomaCluster::first_downlink_start(uint32_t h) const noexcept {
    return impl_->hosts[h]->port_first_start;
}

ClusterStats HomaCluster::stats() const {
    const Impl &s = *impl_;
    ClusterStats st;
    for (const auto &h : s.hosts) {
        const EngineStats &es = h->engine.stats();
        for (size_t t = 0; t <= wire::kLastPacketType; ++t)
            st.packets_by_type[t] += es.packets_tx[t];
        for (uint64_t d : es.drops) st.engine_drops += d;
        st.retransmitted_packets += es.retransmitted_packets;
        st.timeouts += es.client_rpcs_timed_out + es.server_rpcs_timed_out;
        st.grants += es.grants_sent;
        st.fifo_grants += es.fifo_grants_sent;
    }
    st.frames = s.frames_sent;
    st.events = s.events;
    st.switch_drops = s.sw.drops();
    st.max_port_queue_bytes = s.sw.max_port_bytes();
    st.max_switch_buffer_bytes = s.sw.max_buffer_used();
    st.send_errors = s.send_errors;
    st.end = s.now;
    return st;
}

}  // namespace homa::sim
