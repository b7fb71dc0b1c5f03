// A burst of received packets through the engine: handle_burst, and the per-packet hints
// (prefetch_index, prefetch_rpc) for callers that hand packets over one at a time.
//
// DESIGN NOTES: with many live RPCs a packet's lookup misses twice in a row (its slot in the
// RPC index, then the RPC the slot names), and handled one packet at a time these misses are
// paid in series (issue 12's scaling). A burst hides them: every packet's index slot is
// prefetched first, then each RPC a few packets ahead of the one handled. Each key is hashed
// once for both hints (the per-packet hints hash it twice). Handling itself is handle_packet on
// every packet in order: the hints only read, so the burst changes no state, no counter and no
// output, only when the cache lines arrive.
#include <algorithm>

#include "engine_state.h"
#include "homa/proto/rpc_id.h"

namespace homa {

using namespace detail;

namespace {

// How many packets ahead of the one being handled its RPC is prefetched: the RPC's index slot
// was prefetched in the first pass and must have arrived before probable_hash reads it.
constexpr uint32_t kRpcPrefetchAhead = 4;
// Below this many live RPCs the hints cost more than they hide. The first A/B (three runs)
// put the line at 16384; the sixth session's scaling runs found 10^4 live RPCs the slowest
// point of the sweep, and a profile of that client had 8 % of its cycles in find_rpc_of, on
// the RPC's first line. With the line at 4096, 10 alternating pairs at 10^4 (memif, 100 B,
// 4 s each, machine otherwise stopped): median 676 k against 620 k RPC/s, client busy cycles
// per packet 1,380 against 1,485; 7 of 10 pairs faster, run-to-run spread +-15 %.
constexpr uint32_t kHintsFromRpcs = 4096;
// Packets hinted per round: their hashes live on the stack, uninitialized (nothing cleared).
constexpr uint32_t kRound = 64;

// The RPCs a packet will look up: its own, and for DATA the one its piggy-backed ack frees.
// Only their hashes are needed (prefetch, probable), and those come from the header alone:
// no peer lookup.
uint32_t keys_of(const wire::PacketView &v, RpcKey keys[2]) {
    const uint32_t bits = v.src_fold32();
    keys[0] = {wire::local_id(v.common().sender_id.get()), kNil, bits};
    const wire::DataHeader *d = v.data();
    if (d == nullptr || d->ack.client_id.get() == 0) return 1;
    keys[1] = {wire::local_id(d->ack.client_id.get()), kNil, bits};
    return 2;
}

using RpcIndex = decltype(State::rpc_index);

// A packet's index hashes (keys_of), at most two.
struct PacketHashes {
    uint32_t hash[2];
    uint32_t count;
};

PacketHashes hashes_of(const wire::PacketView &v) {
    RpcKey keys[2];
    PacketHashes h;
    h.count = keys_of(v, keys);
    for (uint32_t k = 0; k < h.count; ++k) h.hash[k] = RpcIndex::hash_of(keys[k]);
    return h;
}

void prefetch_slots(const State &s, const PacketHashes &h) {
    for (uint32_t k = 0; k < h.count; ++k) s.rpc_index.prefetch_hash(h.hash[k]);
}

// The RPCs the slots probably name (a hint: a hash match may be another key's RPC).
void prefetch_rpcs(const State &s, const PacketHashes &h) {
    for (uint32_t k = 0; k < h.count; ++k) {
        uint32_t i = s.rpc_index.probable_hash(h.hash[k]);
        if (i == kNil) continue;
        const auto *p = reinterpret_cast<const char *>(&s.rpcs[i]);
        static_assert(sizeof(RpcHot) <= 4 * 64);
        for (int line = 0; line < 4; ++line) __builtin_prefetch(p + 64 * line, 1);
    }
}

}  // namespace

void Engine::prefetch_index(const wire::PacketView &v) const noexcept {
    prefetch_slots(*s_, hashes_of(v));
}

void Engine::prefetch_rpc(const wire::PacketView &v) const noexcept {
    prefetch_rpcs(*s_, hashes_of(v));
}

void Engine::handle_burst(std::span<const wire::PacketView> packets, uint64_t now_ns) {
    const State &s = *s_;
    if (s.live_rpcs < kHintsFromRpcs) {
        for (const wire::PacketView &v : packets) handle_packet(v, now_ns);
        return;
    }
    for (size_t at = 0; at < packets.size(); at += kRound) {
        const auto n = static_cast<uint32_t>(std::min<size_t>(kRound, packets.size() - at));
        const wire::PacketView *v = packets.data() + at;
        PacketHashes h[kRound];
        for (uint32_t i = 0; i < n; ++i) {
            h[i] = hashes_of(v[i]);
            prefetch_slots(s, h[i]);
        }
        // The first packet's RPC is wanted at once: a hint would not arrive in time.
        for (uint32_t i = 1; i < kRpcPrefetchAhead && i < n; ++i) prefetch_rpcs(s, h[i]);
        for (uint32_t i = 0; i < n; ++i) {
            if (i + kRpcPrefetchAhead < n) prefetch_rpcs(s, h[i + kRpcPrefetchAhead]);
            handle_packet(v[i], now_ns);
        }
    }
}

}  // namespace homa
