// The neighbour cache, for IPv4 and IPv6 keys alike; see neighbour.h.
//
// DESIGN NOTES: open addressing with linear probing over a power-of-two table, because the
// transmit path looks an address up per frame and a hash probe is one or two cache lines.
// Entries are never emptied once used (a failed or evicted entry is overwritten in place),
// so probe chains never break and no tombstones are needed; with a full table a lookup of a
// missing address scans every entry, which only happens on a miss. Per-entry hold queues are
// kept in one array reserved at construction, in arrival order: holding a frame never
// allocates, and releasing one address's frames is a pass over the array (once per
// resolution), which keeps their order.
#include "homa/dataplane/neighbour.h"

#include <algorithm>
#include <bit>

#include "homa/proto/ip_address.h"

namespace homa::dp {
namespace {

uint32_t slot_of(uint32_t ip, uint32_t mask) {
    // Fibonacci hashing: addresses of one subnet differ in their low bits only.
    return static_cast<uint32_t>((uint64_t{ip} * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

// Word compares: std::array's == is a call to memcmp, once per frame sent (issue 17).
bool same_address(uint32_t a, uint32_t b) { return a == b; }
bool same_address(const wire::Ipv6Addr &a, const wire::Ipv6Addr &b) {
    return IpAddress::ipv6(a) == IpAddress::ipv6(b);
}

uint32_t slot_of(const wire::Ipv6Addr &ip, uint32_t mask) {
    // On one link the prefix is shared: the interface identifier (last 8 bytes) differs.
    uint64_t iid = 0;
    for (size_t i = 8; i < 16; ++i) iid = iid << 8 | ip[i];
    uint64_t prefix = 0;
    for (size_t i = 0; i < 8; ++i) prefix = prefix << 8 | ip[i];
    return static_cast<uint32_t>(((iid ^ prefix * 31) * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

}  // namespace

template <typename Addr>
BasicNeighbourCache<Addr>::BasicNeighbourCache(const NeighbourConfig &config) : cfg_(config) {
    cfg_.capacity = std::bit_ceil(std::max<uint32_t>(cfg_.capacity, 2));
    cfg_.hold_frames = std::max<uint32_t>(cfg_.hold_frames, 1);
    cfg_.hold_per_address = std::clamp<uint32_t>(cfg_.hold_per_address, 1, cfg_.hold_frames);
    cfg_.max_probes = std::max<uint32_t>(cfg_.max_probes, 1);
    entries_.resize(cfg_.capacity);
    held_.reserve(cfg_.hold_frames);
}

template <typename Addr>
typename BasicNeighbourCache<Addr>::Entry *BasicNeighbourCache<Addr>::find(
    const Addr &ip) noexcept {
    return const_cast<Entry *>(static_cast<const BasicNeighbourCache *>(this)->find(ip));
}

template <typename Addr>
const typename BasicNeighbourCache<Addr>::Entry *BasicNeighbourCache<Addr>::find(
    const Addr &ip) const noexcept {
    uint32_t mask = static_cast<uint32_t>(entries_.size() - 1);
    uint32_t s = slot_of(ip, mask);
    for (uint32_t i = 0; i <= mask; ++i, s = (s + 1) & mask) {
        const Entry &e = entries_[s];
        if (e.state == State::kFree) return nullptr;
        if (same_address(e.ip, ip)) return &e;
    }
    return nullptr;
}

template <typename Addr>
typename BasicNeighbourCache<Addr>::Entry *BasicNeighbourCache<Addr>::insert(
    const Addr &ip, uint64_t /*now_ns*/) noexcept {
    uint32_t mask = static_cast<uint32_t>(entries_.size() - 1);
    uint32_t s = slot_of(ip, mask);
    for (uint32_t i = 0; i <= mask; ++i, s = (s + 1) & mask) {
        if (entries_[s].state == State::kFree) {
            entries_[s] = Entry{};
            entries_[s].ip = ip;
            return &entries_[s];
        }
    }
    // Full: replace the entry whose proof is oldest, never one that is in use (static, or
    // holding frames while it resolves). Failed entries go first: they carry no knowledge.
    Entry *victim = nullptr;
    for (Entry &e : entries_) {
        if (e.state == State::kFailed) {
            victim = &e;
            break;
        }
        if (e.state == State::kReachable &&
            (victim == nullptr || e.confirmed_ns < victim->confirmed_ns)) {
            victim = &e;
        }
    }
    if (victim == nullptr) return nullptr;
    *victim = Entry{};
    victim->ip = ip;
    return victim;
}

template <typename Addr>
void BasicNeighbourCache<Addr>::start_resolution(Entry &e, uint64_t now_ns) noexcept {
    e.state = State::kIncomplete;
    e.probes = 1;
    e.num_held = 0;
    e.deadline_ns = now_ns + cfg_.probe_interval_ns;
    note_deadline(e.deadline_ns);
    ++stats_.resolutions;
    ++stats_.probes;
}

template <typename Addr>
bool BasicNeighbourCache<Addr>::add_static(const Addr &ip, const MacAddr &mac) {
    Entry *e = find(ip);
    if (e == nullptr) e = insert(ip, 0);
    if (e == nullptr) return false;
    e->state = State::kStatic;
    e->mac = mac;
    e->num_held = 0;
    return true;
}

template <typename Addr>
NeighbourResult BasicNeighbourCache<Addr>::resolve(const Addr &ip, void *frame, uint64_t now_ns,
                                                   MacAddr *mac) {
    Entry *e = find(ip);
    if (e != nullptr && (e->state == State::kStatic || e->state == State::kReachable)) {
        ++stats_.hits;
        *mac = e->mac;
        return NeighbourResult::kSend;
    }
    if (e != nullptr && e->state == State::kIncomplete) {
        if (e->num_held == cfg_.hold_per_address || held_.size() == cfg_.hold_frames) {
            ++stats_.dropped_hold_full;
            return NeighbourResult::kDrop;
        }
        held_.push_back({index_of(*e), frame});
        ++e->num_held;
        ++stats_.held;
        return NeighbourResult::kHold;
    }
    if (e != nullptr && e->state == State::kFailed && now_ns < e->deadline_ns) {
        ++stats_.dropped_failed;
        return NeighbourResult::kDrop;
    }
    if (held_.size() == cfg_.hold_frames) {
        ++stats_.dropped_hold_full;
        return NeighbourResult::kDrop;
    }
    if (e == nullptr && (e = insert(ip, now_ns)) == nullptr) {
        ++stats_.dropped_table_full;
        return NeighbourResult::kDrop;
    }
    start_resolution(*e, now_ns);
    held_.push_back({index_of(*e), frame});
    ++e->num_held;
    ++stats_.held;
    return NeighbourResult::kHoldAndProbe;
}

template <typename Addr>
NeighbourState BasicNeighbourCache<Addr>::state(const Addr &ip, MacAddr *mac) const noexcept {
    const Entry *e = find(ip);
    if (e == nullptr) return State::kFree;
    if (mac) *mac = e->mac;
    return e->state;
}

template <typename Addr>
uint32_t BasicNeighbourCache<Addr>::held(const Addr &ip) const noexcept {
    const Entry *e = find(ip);
    return e ? e->num_held : 0;
}

template class BasicNeighbourCache<uint32_t>;
template class BasicNeighbourCache<wire::Ipv6Addr>;

}  // namespace homa::dp
