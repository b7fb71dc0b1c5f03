// Engine setup, sockets, RPC calls, and packet dispatch (one handler per packet type); the RPC
// table itself is in rpc_table.cc.
#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "engine_state.h"
#include "homa/proto/rpc_id.h"
#include "trace_points.h"

namespace homa {

using namespace detail;

bool EngineConfig::validate(std::string *why) const {
    auto fail = [&](const char *m) {
        if (why) *why = m;
        return false;
    };
    // IPv6 headers are the larger: a DATA packet to an IPv6 peer must carry a byte too.
    if (wire::max_data_payload6(mtu) == 0) return fail("mtu too small for a DATA header");
    if (mtu > 9000) return fail("mtu larger than 9000");
    if (num_priorities == 0 || num_priorities > wire::kNumPriorities) {
        return fail("num_priorities must be 1..8");
    }
    if (max_sched_prio >= num_priorities) return fail("max_sched_prio must be < num_priorities");
    if (max_overcommit == 0) return fail("max_overcommit must be >= 1");
    if (max_incoming == 0) return fail("max_incoming must be > 0");
    if (grant_fifo_fraction > 500) return fail("grant_fifo_fraction is per mille, <= 500");
    if (link_mbps == 0) return fail("link_mbps must be > 0");
    if (tick_ns == 0) return fail("tick_ns must be > 0");
    if (resend_ticks == 0 || resend_interval == 0) {
        return fail("resend_ticks and resend_interval must be > 0");
    }
    if (timeout_ticks <= resend_ticks) return fail("timeout_ticks must be > resend_ticks");
    if (request_ack_ticks == 0) return fail("request_ack_ticks must be > 0");
    if (resend_budget == 0) return fail("resend_budget must be >= 1");
    if (max_rpcs == 0 || max_rpcs > (1u << 26)) return fail("max_rpcs must be 1..2^26");
    if (max_peers == 0 || max_sockets == 0) return fail("max_peers and max_sockets must be > 0");
    if (max_peers > (1u << 24)) return fail("max_peers must be <= 2^24");
    if (peer_rpc_share == 0 || peer_rpc_share > 1000)
        return fail("peer_rpc_share is per mille, 1..1000");
    if (peer_pool_share == 0 || peer_pool_share > 1000) {
        return fail("peer_pool_share is per mille, 1..1000");
    }
    if (peer_idle_ticks == 0) return fail("peer_idle_ticks must be > 0");
    if (peer_incoming_share == 0 || peer_incoming_share > 1000) {
        return fail("peer_incoming_share is per mille, 1..1000");
    }
    if (tx_queue_packets < 16) return fail("tx_queue_packets must be >= 16");
    if (first_client_id == 0 || (first_client_id & 1) || id_stride == 0 || (id_stride & 1)) {
        return fail("first_client_id and id_stride must be even and non-zero");
    }
    return true;
}

const char *engine_drop_name(EngineDrop d) noexcept {
    switch (d) {
        case EngineDrop::kNoSocket: return "no_socket";
        case EngineDrop::kUnknownRpc: return "unknown_rpc";
        case EngineDrop::kUnexpectedState: return "unexpected_state";
        case EngineDrop::kLengthMismatch: return "length_mismatch";
        case EngineDrop::kNoBuffers: return "no_buffers";
        case EngineDrop::kTooManyGaps: return "too_many_gaps";
        case EngineDrop::kRpcTableFull: return "rpc_table_full";
        case EngineDrop::kPeerTableFull: return "peer_table_full";
        case EngineDrop::kTxQueueFull: return "tx_queue_full";
        case EngineDrop::kPeerLimit: return "peer_limit";
        case EngineDrop::kPeerShare: return "peer_share";
        case EngineDrop::kCount: break;
    }
    return "invalid";
}

namespace {

// Heaps are sized before the config is validated: a bad max_rpcs gets a token size (the
// engine is not ok() then and never uses them).
uint32_t heap_capacity(const EngineConfig &c) {
    return c.max_rpcs != 0 && c.max_rpcs <= (1u << 26) ? c.max_rpcs : 1;
}

}  // namespace

Engine::State::State(const EngineConfig &c, const PoolOps &p)
    : cfg(c),
      pool(p),
      rpc_index(c.max_rpcs ? c.max_rpcs : 1, RpcKeyOf{this}, p.tables),
      peer_index(c.max_peers ? c.max_peers : 1, PeerKeyOf{this}),
      peer_load(c.max_peers != 0 && c.max_peers <= (1u << 24) ? c.max_peers : 1),
      grant_rest(heap_capacity(c)),
      sendable(heap_capacity(c), c.max_payload(), LaneOf{this}),
      buffer_waiters(heap_capacity(c)),
      timer_heap(c.max_peers != 0 && c.max_peers <= (1u << 24) ? c.max_peers : 1) {
    if (!cfg.validate(&error)) return;
    if (!pool.alloc || !pool.release || !pool.base) {
        error = "pool operations missing";
        return;
    }
    rpcs.create(cfg.max_rpcs, pool.tables);
    watch_links.create(cfg.max_rpcs, pool.tables);
    for (uint32_t i = cfg.max_rpcs; i-- > 0;) {
        rpcs[i].next_free = free_rpcs;
        free_rpcs = i;
    }
    peers.reserve(cfg.max_peers);
    // Pending acks wait only within a tick (ack.cc): a block per peer we finish RPCs with in
    // one tick; beyond that, acks go out at once.
    ack_blocks.resize(std::min<uint32_t>(cfg.max_peers, 1024));
    for (uint32_t i = static_cast<uint32_t>(ack_blocks.size()); i-- > 0;) {
        ack_blocks[i].next_free = free_ack_blocks;
        free_ack_blocks = i;
    }
    ack_peers.reserve(ack_blocks.size());
    deferred_peers.reserve(cfg.max_peers);
    sockets.resize(cfg.max_sockets);
    socket_by_port.assign(65536, kNil);
    grant_active.reserve(cfg.max_overcommit);
    grant_inflight.reserve(cfg.max_overcommit);
    tx.reserve(cfg.tx_queue_packets);
    sent_now.resize(cfg.tx_queue_packets);
    completions.reserve(cfg.max_rpcs);
    stray_acks.reserve(cfg.stray_ack_capacity);
    next_client_id = cfg.first_client_id;
}

Engine::Engine(const EngineConfig &config, const PoolOps &pool)
    : s_(std::make_unique<State>(config, pool)) {}

Engine::~Engine() = default;

bool Engine::ok() const noexcept { return s_->error.empty(); }
const char *Engine::error() const noexcept { return s_->error.c_str(); }
const EngineConfig &Engine::config() const noexcept { return s_->cfg; }
const EngineStats &Engine::stats() const noexcept { return s_->stats; }
uint32_t Engine::live_rpcs() const noexcept { return s_->live_rpcs; }
bool Engine::tables_mapped() const noexcept { return s_->rpcs.mapped() && s_->rpc_index.mapped(); }
uint32_t Engine::held_bpages() const noexcept { return s_->held_bpages; }
uint32_t Engine::buffer_waiters() const noexcept {
    return static_cast<uint32_t>(s_->buffer_waiters.size());
}
uint32_t Engine::live_peers() const noexcept { return s_->live_peers; }
uint32_t Engine::peer_server_rpcs(IpAddress ip) const noexcept {
    uint32_t i = s_->peer_index.find({ip});
    return i == kNil ? 0 : s_->peers[i].server_rpcs;
}
uint32_t Engine::peer_unacked(IpAddress ip) const noexcept {
    uint32_t i = s_->peer_index.find({ip});
    return i == kNil ? 0 : s_->peers[i].unacked;
}
std::span<const TxPacket> Engine::tx_packets() const noexcept { return s_->tx; }
void Engine::clear_tx() noexcept {
    State &s = *s_;
    s.tx.clear();
    for (uint32_t i = 0; i < s.sent_now_count; ++i) s.rpcs[s.sent_now[i]].out.in_tx = false;
    s.sent_now_count = 0;
}
std::span<const Completion> Engine::completions() const noexcept { return s_->completions; }
void Engine::clear_completions() noexcept { s_->completions.clear(); }
std::span<const StrayAck> Engine::stray_acks() const noexcept { return s_->stray_acks; }
void Engine::clear_stray_acks() noexcept { s_->stray_acks.clear(); }

// ----- sockets -----

int Engine::open_socket(uint16_t port, SocketId *out) {
    State &s = *s_;
    if (!ok() || out == nullptr) return -EINVAL;
    if (port >= wire::kFirstClientPort) return -EINVAL;
    if (port != 0 && s.socket_by_port[port] != kNil) return -EADDRINUSE;
    auto it = std::find_if(s.sockets.begin(), s.sockets.end(), [](auto &k) { return !k.open; });
    if (it == s.sockets.end()) return -EMFILE;
    if (port == 0) {
        // Next free client port, wrapping within 0x8000..0xFFFF.
        for (uint32_t tries = 0; tries < 0x8000; ++tries) {
            uint16_t p = s.next_client_port;
            s.next_client_port = p == 0xFFFF ? wire::kFirstClientPort : uint16_t(p + 1);
            if (s.socket_by_port[p] == kNil) {
                port = p;
                break;
            }
        }
        if (port == 0) return -EADDRINUSE;
    }
    *it = Socket{};
    it->open = true;
    it->port = port;
    SocketId id = static_cast<SocketId>(it - s.sockets.begin());
    s.socket_by_port[port] = id;
    *out = id;
    return 0;
}

uint16_t Engine::socket_port(SocketId sid) const noexcept {
    return sid < s_->sockets.size() && s_->sockets[sid].open ? s_->sockets[sid].port : 0;
}

int Engine::set_dont_throttle(SocketId sid, bool on) {
    if (sid >= s_->sockets.size() || !s_->sockets[sid].open) return -EBADF;
    s_->sockets[sid].dont_throttle = on;
    return 0;
}

int Engine::close_socket(SocketId sid, uint64_t /*now_ns*/) {
    State &s = *s_;
    if (sid >= s.sockets.size() || !s.sockets[sid].open) return -EBADF;
    for (uint32_t i = 0; i < s.rpcs_high_water; ++i) {  // never the unused tail of the slab
        Rpc &r = s.rpcs[i];
        if (r.state == RpcState::kFree || r.socket != sid) continue;
        if (wire::is_client_id(r.key.id)) {
            ++s.stats.client_rpcs_aborted;
        } else {
            ++s.stats.server_rpcs_aborted;
        }
        free_rpc(s, i);
    }
    s.socket_by_port[s.sockets[sid].port] = kNil;
    s.sockets[sid] = Socket{};
    return 0;
}

// ----- RPCs -----

namespace {

// Sets *len to the message's length (summed once here: start_out and the trace take it).
int check_message(const OutMessage &msg, uint32_t *len) {
    if (msg.num_pieces > wire::kMaxBpages) return -EINVAL;  // before length() reads them
    *len = msg.length();
    if (*len == 0) return -EINVAL;
    if (*len > wire::kMaxMessageLength) return -EMSGSIZE;
    if (msg.copy && *len > OutMessage::kCopyMax) return -EMSGSIZE;
    return 0;
}

// A client RPC with id `id` from `sid` to `dst`. `reserved`: the id came from
// reserve_client_id() and may be in use already (-EEXIST); otherwise it is send_request()'s
// next id, which no RPC can hold (send_request_as refuses ids not handed out yet), so the
// index is not searched for it: one lookup fewer per RPC.
int start_request(State &s, SocketId sid, Endpoint dst, const OutMessage &msg, uint64_t cookie,
                  uint64_t now_ns, uint64_t id, bool reserved) {
    if (sid >= s.sockets.size() || !s.sockets[sid].open) return -EBADF;
    if (dst.port == 0 || !wire::is_client_id(id)) return -EINVAL;
    uint32_t len = 0;
    if (int e = check_message(msg, &len); e) return e;
    uint32_t peer = get_peer(s, dst.ip);
    if (peer == kNil) return -ENOMEM;
    if (reserved && find_rpc_of(s, id, peer) != nullptr) return -EEXIST;
    uint32_t idx = new_rpc(s, RpcState::kClientOutgoing, id, peer, dst.port, sid);
    if (idx == kNil && evict_unacked(s, false)) {
        idx = new_rpc(s, RpcState::kClientOutgoing, id, peer, dst.port, sid);
    }
    if (idx == kNil) return -ENOMEM;
    s.rpcs[idx].cookie = cookie;
    start_out(s, idx, msg, len);
    ++s.stats.client_rpcs_started;
    HOMA_TT(s.tt, "send request id %u length %u to 0x%x", id, len, dst.ip.low_word());
    send_or_queue(s, idx, now_ns);
    return 0;
}

}  // namespace

int Engine::send_request(SocketId sid, Endpoint dst, const OutMessage &msg, uint64_t cookie,
                         uint64_t now_ns, uint64_t *id) {
    if (id == nullptr) return -EINVAL;
    uint64_t rid = s_->next_client_id;
    int rc = start_request(*s_, sid, dst, msg, cookie, now_ns, rid, false);
    if (rc == 0) {
        s_->next_client_id += s_->cfg.id_stride;
        *id = rid;
    }
    return rc;
}

uint64_t Engine::reserve_client_id() noexcept {
    uint64_t rid = s_->next_client_id;
    s_->next_client_id += s_->cfg.id_stride;
    return rid;
}

int Engine::send_request_as(SocketId sid, Endpoint dst, const OutMessage &msg, uint64_t cookie,
                            uint64_t now_ns, uint64_t id) {
    // An id not handed out yet would be send_request()'s later, unsearched (start_request).
    if (id >= s_->next_client_id) return -EINVAL;
    return start_request(*s_, sid, dst, msg, cookie, now_ns, id, true);
}

int Engine::fail_request(SocketId sid, Endpoint dst, uint64_t id, uint64_t cookie, int error) {
    State &s = *s_;
    if (sid >= s.sockets.size() || !s.sockets[sid].open) return -EBADF;
    if (dst.port == 0 || error == 0 || !wire::is_client_id(id) || id >= s.next_client_id) {
        return -EINVAL;  // an id not handed out yet is refused as send_request_as refuses it
    }
    uint32_t peer = get_peer(s, dst.ip);
    if (peer == kNil) return -ENOMEM;
    if (find_rpc_of(s, id, peer) != nullptr) return -EEXIST;
    uint32_t idx = new_rpc(s, RpcState::kClientOutgoing, id, peer, dst.port, sid);
    if (idx == kNil && evict_unacked(s, false)) {
        idx = new_rpc(s, RpcState::kClientOutgoing, id, peer, dst.port, sid);
    }
    if (idx == kNil) return -ENOMEM;
    Rpc &r = s.rpcs[idx];
    r.cookie = cookie;
    r.error = error;
    r.state = RpcState::kReady;
    ready_push(s.sockets[sid].responses, s, idx);
    return 0;
}

int Engine::send_reply(SocketId sid, Endpoint dst, uint64_t id, const OutMessage &msg,
                       uint64_t now_ns) {
    State &s = *s_;
    if (sid >= s.sockets.size() || !s.sockets[sid].open) return -EBADF;
    if (!wire::is_server_id(id)) return -EINVAL;
    uint32_t len = 0;
    if (int e = check_message(msg, &len); e) return e;
    Rpc *r = find_rpc(s, id, dst.ip);
    if (r == nullptr || r->socket != sid || r->state != RpcState::kInService) return -ENOENT;
    r->state = RpcState::kServerOutgoing;
    HOMA_TT(s.tt, "send reply id %u length %u", id, len);
    start_out(s, static_cast<uint32_t>(r - s.rpcs.data()), msg, len);
    send_or_queue(s, static_cast<uint32_t>(r - s.rpcs.data()), now_ns);
    return 0;
}

int Engine::recv(SocketId sid, uint32_t flags, uint64_t id, Message *out) {
    State &s = *s_;
    if (sid >= s.sockets.size() || !s.sockets[sid].open) return -EBADF;
    if ((flags & (kRecvRequest | kRecvResponse)) == 0 || out == nullptr) return -EINVAL;
    if (id != 0 && !wire::is_client_id(id)) return -EINVAL;
    Socket &sock = s.sockets[sid];
    uint32_t idx = kNil;
    ReadyList *list = nullptr;
    if (id != 0) {
        for (uint32_t i = sock.responses.head; i != kNil; i = s.rpcs[i].next_ready) {
            if (s.rpcs[i].key.id == id) {
                idx = i;
                list = &sock.responses;
                break;
            }
        }
    } else if ((flags & kRecvRequest) && sock.requests.head != kNil) {
        idx = sock.requests.head;
        list = &sock.requests;
    } else if ((flags & kRecvResponse) && sock.responses.head != kNil) {
        idx = sock.responses.head;
        list = &sock.responses;
    }
    if (idx == kNil) return -EAGAIN;
    ready_remove(*list, s, idx);
    Rpc &r = s.rpcs[idx];
    // Every field written once, the unused offsets zeroed as `Message{}` would: assigning a
    // fresh Message first compiled to a `rep stos` of 112 bytes, 27 % of recv's cycles in a
    // 100 B echo (two recvs per RPC).
    out->id = r.key.id;
    out->cookie = r.cookie;
    out->peer = {s.peers[r.key.peer].ip, r.peer_port};
    out->error = r.error;
    out->length = r.error ? 0 : r.in.length;
    // Ownership of the bpages moves to the caller.
    const uint32_t n = r.in.num_bpages;
    out->num_bpages = n;
    // A fixed-size clear (a few vector stores, no call) and then the n entries in use: fewer
    // instructions than a select per entry, and a short message has n == 1.
    std::memset(out->bpage_offsets, 0, sizeof(out->bpage_offsets));
    for (uint32_t i = 0; i < n; ++i) out->bpage_offsets[i] = r.bulk.bpages[i];
    s.held_bpages -= n;
    r.in.num_bpages = 0;
    ++s.stats.messages_delivered;
    HOMA_TT(s.tt, "recv id %u length %u error %d", r.key.id, out->length, r.error);
    if (wire::is_server_id(r.key.id)) {
        r.state = RpcState::kInService;
    } else {
        if (r.error == 0) {
            ++s.stats.client_rpcs_completed;
            add_peer_ack(s, r.key.peer, r.key.id, out->length, r.peer_port, local_port(s, r),
                         s.now_ns);
        }
        free_rpc(s, idx);
    }
    return 0;
}

int Engine::abort(SocketId sid, uint64_t id, int error, uint64_t /*now_ns*/) {
    State &s = *s_;
    if (sid >= s.sockets.size() || !s.sockets[sid].open) return -EBADF;
    if (id != 0 && !wire::is_client_id(id)) return -EINVAL;
    bool found = false;
    for (uint32_t i = 0; i < s.rpcs_high_water; ++i) {  // never the unused tail of the slab
        Rpc &r = s.rpcs[i];
        if (r.state == RpcState::kFree || r.socket != sid || !wire::is_client_id(r.key.id)) {
            continue;
        }
        if (id != 0 && r.key.id != id) continue;
        found = true;
        if (r.state == RpcState::kReady) {
            if (error == 0) free_rpc(s, i);
            continue;  // already complete: its result stands
        }
        ++s.stats.client_rpcs_aborted;
        if (error == 0) {
            free_rpc(s, i);
        } else {
            fail_client_rpc(s, i, error);  // no data, nothing borrowed, delivered by recv
        }
        if (id != 0) break;
    }
    return id != 0 && !found ? -ENOENT : 0;
}

// ----- datapath -----

namespace {

// The RPCs a packet will look up: its own, and for DATA the one its piggy-backed ack frees.
// Only their hashes are needed (prefetch, probable), and those come from the header alone:
// no peer lookup.
uint32_t keys_of(const wire::PacketView &v, RpcKey keys[2]) {
    const uint32_t bits = rpc_key_bits(v.src_fold32());
    keys[0] = {wire::local_id(v.common().sender_id.get()), kNil, bits};
    const wire::DataHeader *d = v.data();
    if (d == nullptr || d->ack.client_id.get() == 0) return 1;
    keys[1] = {wire::local_id(d->ack.client_id.get()), kNil, bits};
    return 2;
}

}  // namespace

void Engine::prefetch_index(const wire::PacketView &v) const noexcept {
    RpcKey keys[2];
    for (uint32_t k = 0, n = keys_of(v, keys); k < n; ++k) s_->rpc_index.prefetch(keys[k]);
}

void Engine::prefetch_rpc(const wire::PacketView &v) const noexcept {
    const State &s = *s_;
    RpcKey keys[2];
    for (uint32_t k = 0, n = keys_of(v, keys); k < n; ++k) {
        uint32_t i = s.rpc_index.probable(keys[k]);
        if (i == kNil) continue;
        s.rpcs[i].prefetch_hot();
    }
}

void Engine::handle_packet(const wire::PacketView &v, uint64_t now_ns) {
    State &s = *s_;
    s.now_ns = now_ns;
    uint8_t type = v.common().type;
    ++s.stats.packets_rx[type];
    trace_rx(s, v);
    switch (v.type()) {
        case wire::PacketType::kData: handle_data(s, v, now_ns); break;
        case wire::PacketType::kGrant: handle_grant(s, v); break;
        case wire::PacketType::kCutoffs: handle_cutoffs(s, v); break;
        case wire::PacketType::kAck: handle_ack(s, v); break;
        case wire::PacketType::kNeedAck: handle_need_ack(s, v, now_ns); break;
        case wire::PacketType::kResend: handle_resend(s, v, now_ns); break;
        case wire::PacketType::kRpcUnknown: handle_rpc_unknown(s, v, now_ns); break;
        case wire::PacketType::kBusy: handle_busy(s, v); break;
        case wire::PacketType::kFreeze: handle_freeze(s); break;
    }
}

uint32_t Engine::poll(uint64_t now_ns, uint32_t data_budget, uint32_t max_remaining,
                      uint32_t budget_scale) {
    State &s = *s_;
    s.now_ns = now_ns;
    size_t before = s.tx.size();
    if (!s.buffer_waiters.empty()) retry_buffer_waiters(s, now_ns);
    if (s.grants_dirty) update_grants(s, now_ns);
    run_timers(s, now_ns);
    // A timer pass may be long: the data after it gets a time of its own (stage clock).
    if (s.tt != nullptr) s.tt->new_stage();
    // Data last: the control packets of this poll leave ahead of it.
    const uint32_t scale = budget_scale == 0 ? 1 : budget_scale;
    // What send_last_packets spent since the last poll comes off this poll's budget.
    const uint64_t early = (s.early_tx_64ths * scale + 63) / 64;
    s.early_tx_64ths = 0;
    s.send_now_64ths = 0;
    transmit(s, now_ns, data_budget, max_remaining, scale, early);
    return static_cast<uint32_t>(s.tx.size() - before);
}

void Engine::note_backlog() noexcept { s_->backlog = true; }

void Engine::set_send_now(uint32_t packets, uint32_t budget_scale) noexcept {
    State &s = *s_;
    s.send_now_scale = budget_scale == 0 ? 1 : budget_scale;
    s.send_now_room =
        static_cast<uint32_t>(std::min<uint64_t>(uint64_t{packets} * s.send_now_scale, UINT32_MAX));
}

namespace {

// DATA only, between polls: what it spends comes off the next poll's budget (early_tx_64ths).
uint32_t transmit_early(State &s, uint64_t now_ns, uint32_t data_budget, uint32_t max_remaining,
                        uint32_t budget_scale) {
    s.now_ns = now_ns;
    size_t before = s.tx.size();
    const uint32_t scale = budget_scale == 0 ? 1 : budget_scale;
    // What set_send_now's messages spent since the last poll is part of the same budget.
    const uint64_t spent = (s.send_now_64ths * scale + 63) / 64;
    uint64_t used = spent;
    transmit(s, now_ns, data_budget, max_remaining, scale, spent, &used);
    s.early_tx_64ths += ((used - spent) * 64 + scale - 1) / scale;
    return static_cast<uint32_t>(s.tx.size() - before);
}

}  // namespace

uint32_t Engine::send_last_packets(uint64_t now_ns, uint32_t data_budget, uint32_t budget_scale) {
    State &s = *s_;
    if (s.sendable.lane_size() == 0) return 0;
    return transmit_early(s, now_ns, data_budget, s.cfg.max_payload(), budget_scale);
}

uint32_t Engine::send_data(uint64_t now_ns, uint32_t data_budget, uint32_t budget_scale) {
    return transmit_early(*s_, now_ns, data_budget, UINT32_MAX, budget_scale);
}

uint32_t Engine::queued_replies() const noexcept { return s_->sendable_replies; }

void Engine::note_tx_dropped(uint32_t packets) noexcept {
    s_->stats.tx_dropped_by_owner += packets;
}

}  // namespace homa
