// Frames out: the engine's TxPackets become Ethernet frames, IPv4 for an IPv4-mapped
// destination and IPv6 otherwise (header mbuf + payload attached
// zero-copy as external buffers, or copied when small, not DMA-able, or the port cannot send
// chains), frames to our own address loop back internally, and send slots complete.
// With WorkerConfig::faults, the frames built in a poll pass proto's FaultInjector before
// tx_burst (drop = free, duplicate = rte_pktmbuf_copy, corrupt = a byte of the first segment,
// which holds every header; reorder = held in a delay line, released when later frames pass
// or when a poll builds nothing).
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "homa/mem/prefetch.h"
#include "homa/proto/encode.h"
#include "homa/proto/frame_template.h"
#include "worker_impl.h"

namespace homa::dp {
namespace {

// Token bit of a register_send message the engine copies: the rest is its copied_sends entry.
constexpr uint64_t kCopiedSend = uint64_t{1} << 63;

// The mbuf the allocation that many packets ahead will take from this lcore's mempool cache
// (the cache hands out its last object first) is fetched before it is needed.
constexpr uint32_t kMbufPrefetchAhead = 4;

void finish_slot(Worker::Impl &w, uint32_t idx) {
    SendSlot &slot = w.slots[idx];
    if (slot.num_pool_offsets) {
        uint32_t offsets[wire::kMaxBpages];
        for (uint32_t i = 0; i < slot.num_pool_offsets; ++i)
            offsets[i] = slot.pieces[i].pool_offset;
        w.cfg.pool->release(offsets, slot.num_pool_offsets, w.cfg.pool_cache);
    }
    SendDone done = slot.done;
    void *ctx = slot.ctx;
    uint64_t token = slot.user_token;
    slot.in_use = false;
    slot.num_pool_offsets = 0;
    slot.next_free = w.free_slot;
    w.free_slot = idx;
    --w.slots_in_use;
    ++w.stats.sends_completed;
    if (done) done(ctx, token);
}

// DPDK calls this when the last frame attached to a slot's memory is freed (any lcore).
void extbuf_free_cb(void * /*addr*/, void *opaque) {
    auto *slot = static_cast<SendSlot *>(opaque);
    Worker::Impl &w = *slot->owner;
    uintptr_t idx = static_cast<uintptr_t>(slot - w.slots.data());
    // The ring holds every slot index at once, so this enqueue cannot fail.
    rte_ring_mp_enqueue(w.done_ring, reinterpret_cast<void *>(idx));
}

uint64_t piece_iova(Worker::Impl &w, const OutMessage::Piece &p) {
    mem::BpagePool &pool = *w.cfg.pool;
    if (pool.contains(p.data, p.length)) {
        return pool.iova(static_cast<uint32_t>(p.data - pool.base()));
    }
    // The memseg gives the IOVA without rte_mem_virt2iova's /proc/self/pagemap read (a syscall
    // per send in IOVA-as-PA mode). In IOVA-as-VA mode the last memseg found is remembered
    // (applications send from the same buffers; a VA there always maps to the same IOVA, while
    // in PA mode a freed and remapped page could come back at another physical address).
    // A piece must not cross a memseg to be attached.
    MemsegCache &mc = w.memseg_cache;
    if (!w.iova_is_va || p.data < mc.start || p.data + p.length > mc.start + mc.len) {
        const rte_memseg *ms = rte_mem_virt2memseg(p.data, nullptr);
        if (ms == nullptr || ms->iova == RTE_BAD_IOVA) return RTE_BAD_IOVA;  // not DPDK memory
        mc = {static_cast<const uint8_t *>(ms->addr), ms->len, ms->iova};
        if (p.data + p.length > mc.start + mc.len) return RTE_BAD_IOVA;
    }
    return mc.iova + static_cast<uint64_t>(p.data - mc.start);
}

int take_slot(Worker::Impl &w, const OutMessage &msg, SendDone done, void *ctx, uint64_t user_token,
              OutMessage *out) {
    if (w.free_slot == kNoSlot) return -ENOSPC;
    uint32_t idx = w.free_slot;
    SendSlot &slot = w.slots[idx];
    w.free_slot = slot.next_free;
    ++w.slots_in_use;
    slot.in_use = true;
    // Messages shorter than copy_below are always copied into frames: no IOVA needed.
    bool attachable = msg.length() >= w.cfg.copy_below;
    slot.num_pieces = static_cast<uint8_t>(msg.num_pieces);
    for (uint32_t i = 0; i < msg.num_pieces; ++i) {
        // Field by field: the caller has usually just written the piece as a pointer and a
        // length, and one 16-byte load of both cannot be forwarded from those two stores (it
        // waited for them to reach the cache: most of take_slot's time).
        slot.pieces[i].piece.data = msg.pieces[i].data;
        slot.pieces[i].piece.length = msg.pieces[i].length;
        slot.pieces[i].iova = attachable ? piece_iova(w, msg.pieces[i]) : RTE_BAD_IOVA;
    }
    slot.done = done;
    slot.ctx = ctx;
    slot.user_token = user_token;
    slot.shinfo.free_cb = extbuf_free_cb;
    slot.shinfo.fcb_opaque = &slot;
    rte_mbuf_ext_refcnt_set(&slot.shinfo, 1);  // the engine's reference
    *out = msg;
    out->token = idx;
    return 0;
}

// Drops one reference to a slot; the last one finishes it.
void put_slot(Worker::Impl &w, uint32_t idx) {
    if (rte_mbuf_ext_refcnt_update(&w.slots[idx].shinfo, -1) == 0) finish_slot(w, idx);
}

uint64_t iova_of(const SendSlot &slot, const uint8_t *p) {
    for (uint32_t i = 0; i < slot.num_pieces; ++i) {
        const SlotPiece &sp = slot.pieces[i];
        const auto &pc = sp.piece;
        if (p >= pc.data && p < pc.data + pc.length) {
            return sp.iova == RTE_BAD_IOVA ? RTE_BAD_IOVA : sp.iova + (p - pc.data);
        }
    }
    return RTE_BAD_IOVA;
}

// The Ethernet and IP headers of a packet, either family: IPv4 from the worker's template
// (patched per packet), IPv6 encoded in full. The destination MAC of a frame leaving the host
// is set by send_to_next_hop.
struct L2L3 {
    const wire::Ipv4FrameTemplate *v4 = nullptr;  ///< Set for IPv4.
    uint32_t dst_ip = 0;
    uint8_t priority = 0;
    uint16_t ip_id = 0;
    wire::FrameAddr6 a6;
    size_t size() const noexcept { return v4 ? v4->size() : wire::l2l3_size(a6); }
    size_t encode(std::span<uint8_t> out, size_t homa_bytes) const noexcept {
        return v4 ? v4->write(out, dst_ip, priority, ip_id, homa_bytes)
                  : wire::encode_l2l3(out, a6, homa_bytes);
    }
};

void address(Worker::Impl &w, const TxPacket &p, L2L3 &h) {
    if (p.dst_ip.is_ipv4()) {
        h.v4 = &w.ipv4_template;
        h.dst_ip = p.dst_ip.ipv4();
        h.priority = p.priority;
        h.ip_id = w.ip_id++;
        return;
    }
    wire::FrameAddr6 &a = h.a6;
    a.src_mac = w.cfg.local_mac;
    a.dst_mac = w.cfg.local_mac;
    a.vlan_id = w.cfg.vlan_id;
    a.src_ip = w.cfg.local_ip6;
    a.dst_ip = p.dst_ip.bytes();
    a.priority = p.priority;
    // Both halves of an RPC carry one label (Linux leaves it 0; switches may hash on it).
    a.flow_label = wire::rpc_flow_label(
        reinterpret_cast<const wire::CommonHeader *>(p.header)->sender_id.get());
}

// Builds one frame; returns nullptr (counted) if no mbuf was available.
rte_mbuf *build_frame(Worker::Impl &w, const TxPacket &p, bool local) {
    rte_mbuf *m = rte_pktmbuf_alloc(w.cfg.mbuf_pool);
    if (m == nullptr) {
        ++w.stats.tx_no_mbuf;
        return nullptr;
    }
    L2L3 a;
    address(w, p, a);
    uint32_t payload = p.payload_len();
    // A payload the engine copied (TxPacket::kCopied) has no slot and is always copied again.
    bool attach =
        !local && w.cfg.multi_seg_tx && payload >= w.cfg.copy_below && p.token != TxPacket::kCopied;
    const SendSlot *slot = attach ? &w.slots[p.token] : nullptr;
    for (uint8_t i = 0; attach && i < p.num_payload; ++i) {
        attach = iova_of(*slot, p.payload[i].data) != RTE_BAD_IOVA;
    }
    size_t l2l3 = a.size();
    size_t head = l2l3 + p.header_len + (attach ? 0 : payload);
    auto *buf = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(m, static_cast<uint16_t>(head)));
    if (buf == nullptr) {  // frame larger than an mbuf's data room: configuration error
        rte_pktmbuf_free(m);
        ++w.stats.tx_no_mbuf;
        return nullptr;
    }
    a.encode({buf, head}, p.header_len + payload);
    // The whole header array at once when the buffer has room for it: a copy of constant size
    // is a few vector moves where one of header_len bytes is a call into libc (about 20
    // instructions per frame). The bytes past header_len are overwritten by the payload below
    // or lie in the tailroom, past the frame.
    if (l2l3 + sizeof(p.header) <= head + rte_pktmbuf_tailroom(m)) {
        std::memcpy(buf + l2l3, p.header, sizeof(p.header));
    } else {
        std::memcpy(buf + l2l3, p.header, p.header_len);
    }
    if (!attach) {
        uint8_t *dst = buf + l2l3 + p.header_len;
        for (uint8_t i = 0; i < p.num_payload; ++i) {
            std::memcpy(dst, p.payload[i].data, p.payload[i].length);
            dst += p.payload[i].length;
        }
        if (payload) ++w.stats.tx_copied;
        return m;
    }
    auto &shinfo = w.slots[p.token].shinfo;
    for (uint8_t i = 0; i < p.num_payload; ++i) {
        rte_mbuf *seg = rte_pktmbuf_alloc(w.cfg.mbuf_pool);
        if (seg == nullptr) {
            rte_pktmbuf_free(m);
            ++w.stats.tx_no_mbuf;
            return nullptr;
        }
        auto *data = const_cast<uint8_t *>(p.payload[i].data);
        uint16_t len = static_cast<uint16_t>(p.payload[i].length);
        rte_mbuf_ext_refcnt_update(&shinfo, 1);
        rte_pktmbuf_attach_extbuf(seg, data, iova_of(*slot, data), len, &shinfo);
        seg->data_len = len;
        seg->pkt_len = len;
        rte_pktmbuf_chain(m, seg);
    }
    ++w.stats.tx_zero_copy;
    return m;
}

// FaultInjector::pass on mbufs. Corruption touches only the first segment: the headers (and
// the payload of copied frames), never memory attached zero-copy, which belongs to the sender.
struct MbufFaultOps {
    Worker::Impl &w;
    std::vector<rte_mbuf *> &batch;
    void drop(rte_mbuf *m) { rte_pktmbuf_free(m); }
    std::span<uint8_t> bytes(rte_mbuf *m) { return {rte_pktmbuf_mtod(m, uint8_t *), m->data_len}; }
    bool copy(rte_mbuf *m, rte_mbuf **out) {
        *out = rte_pktmbuf_copy(m, w.cfg.mbuf_pool, 0, UINT32_MAX);
        return *out != nullptr;
    }
    void emit(rte_mbuf *m) { batch.push_back(m); }
};

// Runs the frames built this poll (batch[first..]) through the configured faults. The delay
// line is shared by both queues' batches: a held frame comes out on the queue whose frames
// passed next, a reordering of its own. `idle`: the poll built no frame at all.
void apply_tx_faults(Worker::Impl &w, std::vector<rte_mbuf *> &batch, size_t first, bool idle) {
    TxFaults &f = *w.faults;
    f.fresh.assign(batch.begin() + static_cast<long>(first), batch.end());
    batch.resize(first);
    MbufFaultOps ops{w, batch};
    for (rte_mbuf *m : f.fresh) f.injector.pass(m, f.delayed, ops);
    if (idle) f.delayed.flush([&](rte_mbuf *m) { ops.emit(m); });  // idle link
    const FaultStats &st = f.injector.stats();
    w.stats.tx_fault_dropped = st.dropped;
    w.stats.tx_fault_duplicated = st.duplicated;
    w.stats.tx_fault_reordered = st.reordered;
    w.stats.tx_fault_corrupted = st.corrupted;
}

}  // namespace

int Worker::register_send(const OutMessage &pieces, SendDone done, void *ctx, uint64_t user_token,
                          OutMessage *out) {
    if (out == nullptr || pieces.num_pieces == 0 || pieces.num_pieces > wire::kMaxBpages) {
        return -EINVAL;
    }
    Impl &w = *impl_;
    // A short message is cheaper to copy into the engine than to borrow (a slot, a completion
    // and the reference count of its frames); `done` then only has to wait for the next poll.
    if (pieces.length() <= OutMessage::kCopyMax &&
        w.copied_sends.size() < w.copied_sends.capacity()) {
        *out = pieces;
        out->copy = true;
        out->token = kCopiedSend | w.copied_sends.size();
        w.copied_sends.push_back({done, ctx, user_token, false});
        ++w.copied_pending;
        return 0;
    }
    return take_slot(w, pieces, done, ctx, user_token, out);
}

int Worker::register_pool_send(const uint32_t *offsets, uint32_t count, uint32_t length,
                               SendDone done, void *ctx, uint64_t user_token, OutMessage *out) {
    Impl &w = *impl_;
    if (out == nullptr || count == 0 || count > wire::kMaxBpages ||
        length > count * wire::kBpageSize || length <= (count - 1) * wire::kBpageSize) {
        return -EINVAL;
    }
    OutMessage msg;
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t len = std::min<uint32_t>(wire::kBpageSize, length - i * wire::kBpageSize);
        msg.pieces[msg.num_pieces++] = {w.cfg.pool->base() + offsets[i], len};
    }
    if (int rc = take_slot(w, msg, done, ctx, user_token, out); rc < 0) return rc;
    SendSlot &slot = w.slots[out->token];
    for (uint32_t i = 0; i < count; ++i) slot.pieces[i].pool_offset = offsets[i];
    slot.num_pool_offsets = static_cast<uint8_t>(count);
    return 0;
}

bool Worker::copy_pool_send(const uint32_t *offsets, uint32_t count, uint32_t length,
                            OutMessage *out) const noexcept {
    if (count != 1 || length == 0 || length > OutMessage::kCopyMax) return false;
    *out = OutMessage::contiguous(impl_->cfg.pool->base() + offsets[0], length);
    out->copy = true;
    return true;
}

int Worker::cancel_send(const OutMessage &registered) {
    Impl &w = *impl_;
    if (registered.token & kCopiedSend) {
        uint64_t i = registered.token & ~kCopiedSend;
        if (i >= w.copied_sends.size() || w.copied_sends[i].cancelled) return -EINVAL;
        w.copied_sends[i].cancelled = true;
        --w.copied_pending;
        return 0;
    }
    if (registered.token >= w.slots.size() || !w.slots[registered.token].in_use) return -EINVAL;
    SendSlot &slot = w.slots[registered.token];
    slot.done = nullptr;
    put_slot(w, static_cast<uint32_t>(registered.token));
    --w.stats.sends_completed;  // it never was a send
    return 0;
}

uint32_t tx_room(const Worker::Impl &w) {
    size_t pending = w.tx_batch.size() + w.tx_fast.size();
    return pending >= w.cfg.tx_data_budget ? 0
                                           : w.cfg.tx_data_budget - static_cast<uint32_t>(pending);
}

// Hands `batch` to the port's `queue` as far as it takes it; the rest stays for the next
// poll, never silently dropped. Returns the frames it took.
size_t send_batch(Worker::Impl &w, uint16_t queue, std::vector<rte_mbuf *> &batch) {
    size_t sent = 0;
    while (sent < batch.size()) {
        uint16_t n = rte_eth_tx_burst(
            w.cfg.port_id, queue, batch.data() + sent,
            static_cast<uint16_t>(std::min<size_t>(batch.size() - sent, UINT16_MAX)));
        sent += n;
        if (n == 0) {
            ++w.stats.tx_retries;
            break;  // keep the rest for the next poll
        }
    }
    // A full port refuses every poll for a while: one record when that starts and one when
    // it ends, or the ring would hold nothing else.
    uint32_t &streak = w.tx_refused_streak[queue == w.cfg.queue_id ? 0 : 1];
    if (!batch.empty() && sent == 0) {
        if (streak++ == 0) {
            HOMA_TT(w.tt, "tx burst queue %u offered %u refused", queue,
                    static_cast<uint32_t>(batch.size()));
        }
    } else if (!batch.empty()) {
        if (streak != 0) {
            HOMA_TT(w.tt, "tx burst queue %u refused in %u polls in a row", queue, streak);
            streak = 0;
        }
        HOMA_TT(w.tt, "tx burst queue %u offered %u accepted %u", queue,
                static_cast<uint32_t>(batch.size()), static_cast<uint32_t>(sent));
    }
    batch.erase(batch.begin(), batch.begin() + static_cast<long>(sent));
    return sent;
}

uint32_t build_and_send(Worker::Impl &w) {
    auto packets = w.engine.tx_packets();
    size_t first_new = w.tx_batch.size();
    size_t first_new_fast = w.tx_fast.size();
    const bool has_fast = w.cfg.fast_queue_id != WorkerConfig::kNoQueue;
    uint32_t lost = 0;
    rte_mempool_cache *cache = rte_mempool_default_cache(w.cfg.mbuf_pool, rte_lcore_id());
    const size_t buf_offset =
        sizeof(rte_mbuf) + rte_pktmbuf_priv_size(w.cfg.mbuf_pool) + RTE_PKTMBUF_HEADROOM;
    for (const TxPacket &p : packets) {
        if (cache != nullptr && cache->len > kMbufPrefetchAhead) {
            auto *next = static_cast<uint8_t *>(cache->objs[cache->len - 1 - kMbufPrefetchAhead]);
            mem::prefetch_for_write(next);
            mem::prefetch_for_write(next + 64);
            mem::prefetch_for_write(next + buf_offset);
            mem::prefetch_for_write(next + buf_offset + 64);
        }
        bool local = is_local(w, p.dst_ip);
        rte_mbuf *m = build_frame(w, p, local);
        if (m == nullptr) {
            ++lost;
            continue;
        }
        if (local) {
            w.local_rx.push_back(m);
            ++w.stats.tx_local;
        } else if (!p.dst_ip.is_ipv4()) {
            send_to_next_hop6(w, m, p.dst_ip.bytes(),
                              has_fast && p.priority >= w.cfg.fast_from_priority);
        } else {
            send_to_next_hop(w, m, p.dst_ip.ipv4(),
                             has_fast && p.priority >= w.cfg.fast_from_priority);
        }
    }
    w.engine.clear_tx();
    if (lost) w.engine.note_tx_dropped(lost);
    uint32_t built = static_cast<uint32_t>(packets.size());
    if (w.faults) {
        const bool idle = w.tx_batch.size() == first_new && w.tx_fast.size() == first_new_fast;
        apply_tx_faults(w, w.tx_batch, first_new, idle);
        if (has_fast) apply_tx_faults(w, w.tx_fast, first_new_fast, false);
    }
    // Priority frames first: they must not wait for bulk frames, not even within this poll.
    if (!w.tx_fast.empty()) {
        size_t fast = send_batch(w, w.cfg.fast_queue_id, w.tx_fast);
        w.stats.tx_fast_frames += fast;
        w.stats.tx_frames += fast;
    }
    if (!w.tx_batch.empty()) w.stats.tx_frames += send_batch(w, w.cfg.queue_id, w.tx_batch);
    if (!w.tx_batch.empty() || !w.tx_fast.empty()) {
        // Our own queue is behind: the peers' answers may be behind it, not missing.
        ++w.stats.tx_backlog_polls;
        w.engine.note_backlog();
    }
    return built;
}

uint32_t drain_completions(Worker::Impl &w) {
    uint32_t n = 0;
    // With 10^4+ sends in flight their slots are out of cache: fetch them all first, so the
    // misses overlap instead of stalling one put_slot after another.
    for (const Completion &c : w.engine.completions()) {
        if (c.kind == Completion::Kind::kOutReleased) {
            mem::prefetch_for_write(&w.slots[static_cast<uint32_t>(c.token)]);
        }
    }
    for (const Completion &c : w.engine.completions()) {
        if (c.kind == Completion::Kind::kOutReleased) put_slot(w, static_cast<uint32_t>(c.token));
        ++n;
    }
    w.engine.clear_completions();
    if (const size_t copied = w.copied_sends.size(); copied != 0) {
        // Only the entries there now: a callback that sends again adds one for the next poll.
        for (size_t i = 0; i < copied; ++i) {
            const Worker::Impl::CopiedSend c = w.copied_sends[i];
            if (c.cancelled) continue;
            --w.copied_pending;
            ++w.stats.sends_completed;
            if (c.done) c.done(c.ctx, c.token);
        }
        w.copied_sends.erase(w.copied_sends.begin(),
                             w.copied_sends.begin() + static_cast<long>(copied));
        n += static_cast<uint32_t>(copied);
    }
    void *done[32];
    unsigned got;
    while ((got = rte_ring_sc_dequeue_burst(w.done_ring, done, 32, nullptr)) > 0) {
        for (unsigned i = 0; i < got; ++i) {
            finish_slot(w, static_cast<uint32_t>(reinterpret_cast<uintptr_t>(done[i])));
        }
        n += got;
    }
    return n;
}

}  // namespace homa::dp
