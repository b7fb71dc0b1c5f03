/**
 * @file
 * A worker's small IP -> MAC neighbour cache (Linux's neighbour table, reduced to what a
 * host on one link needs): static entries from configuration, entries learned from ARP (IPv4)
 * or Neighbour Discovery (IPv6), and resolution of unknown next hops with frames held
 * meanwhile. One state machine for both families, as in Linux: NeighbourCache is keyed by
 * IPv4 addresses (host-order integers), Neighbour6Cache by IPv6 addresses (network order);
 * "ARP request" below means a Neighbour Solicitation for the latter.
 *
 * @code
 *   homa::dp::NeighbourCache cache(homa::dp::NeighbourConfig{});
 *   homa::dp::MacAddr mac;
 *   switch (cache.resolve(ip, frame, now, &mac)) {
 *   case NeighbourResult::kSend:         send(frame, mac); break;
 *   case NeighbourResult::kHoldAndProbe: send_arp_request(ip); break;  // frame is held
 *   case NeighbourResult::kHold:         break;                        // frame is held
 *   case NeighbourResult::kDrop:         free(frame); break;           // counted
 *   }
 *   cache.learn(ip, mac, now, true, [](void *f, const MacAddr &m) { send(f, m); });
 *   cache.poll(now, [](uint32_t ip) { send_arp_request(ip); }, [](void *f) { free(f); });
 * @endcode
 *
 * Entry states, in their legal order: (none) -> kIncomplete (a frame needed it; probes sent
 * every probe_interval_ns) -> kReachable (an ARP answer came: held frames are released in
 * the order they were held) or kFailed (max_probes unanswered: held frames dropped, frames
 * for it dropped at once for failed_hold_ns, then kIncomplete again). kReachable entries older
 * than reachable_ns stay usable while they are re-probed; unanswered, they become kFailed.
 * kStatic entries (configuration) never change. When the table is full, the least recently
 * confirmed kReachable or kFailed entry is replaced.
 *
 * Ownership: held frames are opaque pointers the cache stores, never touches, and gives back
 * exactly once (released by learn, dropped by poll or clear). Threading: one owner (the
 * worker's lcore); no call is thread-safe. Allocates only in the constructor; the datapath
 * calls (resolve, learn, poll) never allocate. Errors: none; what cannot be done is counted.
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "homa/proto/frame.h"

namespace homa::dp {

using MacAddr = std::array<uint8_t, 6>;

struct NeighbourConfig {
    uint32_t capacity = 64;  ///< Entries (rounded up to a power of two).
    /// Frames held while resolving, all destinations together. The engine queues a whole
    /// poll's packets at once (up to EngineConfig::tx_queue_packets), and a dropped frame
    /// costs a retransmission, so this is sized for a full burst.
    uint32_t hold_frames = 8192;
    uint32_t hold_per_address = 4096;          ///< Of which one destination may hold.
    uint64_t probe_interval_ns = 100'000'000;  ///< Between ARP requests for one address.
    uint32_t max_probes = 3;                   ///< Unanswered requests before giving up.
    uint64_t reachable_ns = 300'000'000'000;   ///< After this, a learned entry is re-probed.
    uint64_t failed_hold_ns = 1'000'000'000;   ///< Frames to a failed address dropped at once.
};

enum class NeighbourResult : uint8_t {
    kSend,          ///< Known: *mac is set, send the frame now.
    kHold,          ///< Being resolved: the cache holds the frame.
    kHoldAndProbe,  ///< Unknown: the cache holds the frame; send an ARP request now.
    kDrop,          ///< Hold queue full, address failed recently, or table full: drop it.
};

struct NeighbourStats {
    uint64_t hits = 0;                ///< resolve() answered at once.
    uint64_t resolutions = 0;         ///< Unknown addresses whose resolution started.
    uint64_t probes = 0;              ///< ARP requests asked for (first ones and retries).
    uint64_t resolved = 0;            ///< kIncomplete entries an answer completed.
    uint64_t failed = 0;              ///< Resolutions (or re-probes) that went unanswered.
    uint64_t held = 0;                ///< Frames held while resolving.
    uint64_t released = 0;            ///< Held frames released to be sent.
    uint64_t dropped_hold_full = 0;   ///< Frames dropped: hold space (or the address's share) full.
    uint64_t dropped_failed = 0;      ///< Frames dropped: address failed (held or recent).
    uint64_t dropped_table_full = 0;  ///< Frames dropped: no entry could be made.
    uint64_t learned = 0;             ///< Entries created or updated from ARP (or ND).
};

/** States of a cache entry (see the file comment for their order). */
enum class NeighbourState : uint8_t { kFree, kStatic, kIncomplete, kReachable, kFailed };

/** `Addr` is uint32_t (IPv4, host order) or wire::Ipv6Addr; both are instantiated in
 *  neighbour.cc. The all-zero address is never learned (it names no host). */
template <typename Addr>
class BasicNeighbourCache {
  public:
    using State = NeighbourState;

    explicit BasicNeighbourCache(const NeighbourConfig &config);

    /** Adds (or replaces) a permanent entry. Returns false if the table is full of static
     *  entries. Setup only (not the datapath). */
    bool add_static(const Addr &ip, const MacAddr &mac);

    /** Finds the MAC for `ip`, holding `frame` if the address must be resolved first. */
    NeighbourResult resolve(const Addr &ip, void *frame, uint64_t now_ns, MacAddr *mac);

    /**
     * Records an ARP-proven mapping. Updates an existing entry (not a static one); creates a
     * new one only if `create` (Linux creates entries from requests addressed to us, and
     * otherwise only updates). A kIncomplete entry becomes kReachable and its held frames go
     * to `release(void *frame, const MacAddr &mac)` in the order they were held.
     * Returns true if an entry was created or updated.
     */
    template <typename Release>
    bool learn(const Addr &ip, const MacAddr &mac, uint64_t now_ns, bool create, Release &&release);

    /**
     * Timers: calls `probe(ip)` for each address due another ARP request and `drop(frame)`
     * for the held frames of addresses that failed. Cheap when nothing is due (one compare).
     * Returns the number of probes and drops.
     */
    template <typename Probe, typename Drop>
    uint32_t poll(uint64_t now_ns, Probe &&probe, Drop &&drop);

    /** Gives every held frame to `drop` (e.g. at shutdown). */
    template <typename Drop>
    void clear_held(Drop &&drop);

    /** Current state of `ip` (kFree when it has no entry), and its MAC when known. */
    State state(const Addr &ip, MacAddr *mac = nullptr) const noexcept;
    /** Frames currently held for `ip`. */
    uint32_t held(const Addr &ip) const noexcept;
    const NeighbourStats &stats() const noexcept { return stats_; }
    uint32_t capacity() const noexcept { return static_cast<uint32_t>(entries_.size()); }

  private:
    struct Entry {
        Addr ip{};
        State state = State::kFree;
        uint8_t probes = 0;  ///< Requests sent in the current resolution.
        MacAddr mac{};
        uint32_t num_held = 0;
        uint64_t confirmed_ns = 0;  ///< Last ARP proof (kReachable), for expiry and eviction.
        uint64_t deadline_ns =
            0;  ///< Next probe (kIncomplete, stale kReachable) or end of kFailed.
    };

    Entry *find(const Addr &ip) noexcept;
    const Entry *find(const Addr &ip) const noexcept;
    Entry *insert(const Addr &ip, uint64_t now_ns) noexcept;
    void start_resolution(Entry &e, uint64_t now_ns) noexcept;
    void note_deadline(uint64_t t) noexcept {
        if (t < next_deadline_) next_deadline_ = t;
    }
    uint32_t index_of(const Entry &e) const noexcept {
        return static_cast<uint32_t>(&e - entries_.data());
    }
    /** Gives entry e's held frames, oldest first, to fn and removes them from held_. */
    template <typename Fn>
    void take_held(const Entry &e, Fn &&fn);

    struct Held {
        uint32_t entry;
        void *frame;
    };
    NeighbourConfig cfg_;
    std::vector<Entry> entries_;
    std::vector<Held> held_;  ///< All held frames in arrival order (capacity hold_frames).
    uint64_t next_deadline_ = UINT64_MAX;
    NeighbourStats stats_;
};

using NeighbourCache = BasicNeighbourCache<uint32_t>;
using Neighbour6Cache = BasicNeighbourCache<wire::Ipv6Addr>;
extern template class BasicNeighbourCache<uint32_t>;
extern template class BasicNeighbourCache<wire::Ipv6Addr>;

// ----- templates -----

template <typename Addr>
template <typename Release>
bool BasicNeighbourCache<Addr>::learn(const Addr &ip, const MacAddr &mac, uint64_t now_ns,
                                      bool create, Release &&release) {
    if (ip == Addr{}) return false;
    Entry *e = find(ip);
    if (e == nullptr) {
        if (!create || (e = insert(ip, now_ns)) == nullptr) return false;
    }
    if (e->state == State::kStatic) return false;
    bool was_incomplete = e->state == State::kIncomplete;
    e->state = State::kReachable;
    e->mac = mac;
    e->probes = 0;
    e->confirmed_ns = now_ns;
    e->deadline_ns = now_ns + cfg_.reachable_ns;
    note_deadline(e->deadline_ns);
    ++stats_.learned;
    if (was_incomplete) {
        ++stats_.resolved;
        take_held(*e, [&](void *f) {
            ++stats_.released;
            release(f, mac);
        });
    }
    return true;
}

template <typename Addr>
template <typename Probe, typename Drop>
uint32_t BasicNeighbourCache<Addr>::poll(uint64_t now_ns, Probe &&probe, Drop &&drop) {
    if (now_ns < next_deadline_) return 0;
    uint32_t work = 0;
    next_deadline_ = UINT64_MAX;
    for (Entry &e : entries_) {
        // kFailed needs no timer: resolve() compares its deadline when a frame comes.
        if (e.state != State::kIncomplete && e.state != State::kReachable) continue;
        if (e.deadline_ns > now_ns) {
            note_deadline(e.deadline_ns);
            continue;
        }
        if (e.probes < cfg_.max_probes) {
            ++e.probes;
            ++stats_.probes;
            e.deadline_ns = now_ns + cfg_.probe_interval_ns;
            note_deadline(e.deadline_ns);
            probe(e.ip);
            ++work;
            continue;
        }
        ++stats_.failed;
        e.state = State::kFailed;
        e.deadline_ns = now_ns + cfg_.failed_hold_ns;
        take_held(e, [&](void *f) {
            ++stats_.dropped_failed;
            drop(f);
            ++work;
        });
    }
    return work;
}

template <typename Addr>
template <typename Drop>
void BasicNeighbourCache<Addr>::clear_held(Drop &&drop) {
    for (const Held &h : held_) drop(h.frame);
    held_.clear();
    for (Entry &e : entries_) e.num_held = 0;
}

template <typename Addr>
template <typename Fn>
void BasicNeighbourCache<Addr>::take_held(const Entry &e, Fn &&fn) {
    // A linear pass: it runs once per resolution, never per frame.
    uint32_t idx = index_of(e);
    size_t keep = 0;
    for (size_t i = 0; i < held_.size(); ++i) {
        if (held_[i].entry == idx) {
            fn(held_[i].frame);
        } else {
            held_[keep++] = held_[i];
        }
    }
    held_.resize(keep);  // shrinking never reallocates
    entries_[idx].num_held = 0;
}

}  // namespace homa::dp
