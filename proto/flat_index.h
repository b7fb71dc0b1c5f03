// A fixed-capacity open-addressing hash index from a key to a uint32 slot number (the RPC and
// peer tables). DESIGN NOTES:
// - Capacity is fixed at construction (a power of two at least twice the entries) so the
//   datapath never allocates or rehashes; std::unordered_map was rejected for its node per insert.
// - A slot is 8 bytes (value + 32-bit hash): the key itself lives in the caller's slab and is
//   compared through `key_of` only when the hashes match, so 8 slots share a cache line and a
//   table for 64 Ki RPCs is 1 MiB.
// - Linear probing with backward-shift deletion (no tombstones piling up under churn). Deletion
//   walks the probe run after the hole, so runs must stay short: RpcKey::hash spreads
//   consecutive ids four slots apart instead of packing them into one long run (a packed
//   run made every delete O(live RPCs); a fully random hash made every new RPC a cache miss).
#pragma once

#include <cstdint>

#include "homa/mem/prefetch.h"
#include "homa/proto/table_array.h"

namespace homa::detail {

inline uint64_t mix64(uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/** Key must have `uint64_t hash() const` and `==`; KeyOf maps a stored value to its key. */
template <typename Key, typename KeyOf>
class FlatIndex {
  public:
    static constexpr uint32_t kNone = UINT32_MAX;

    /** `mem`: where the slots live (TableArray); the RPC index is as scattered as the slab. */
    FlatIndex(uint32_t max_entries, KeyOf key_of, const TableMemory &mem = {}) : key_of_(key_of) {
        uint32_t cap = 16;
        while (cap < max_entries * 2) cap <<= 1;
        slots_.create(cap, mem);
        for (Slot &s : slots_) s = Slot{kNone, 0};
        mask_ = cap - 1;
    }

    uint32_t find(const Key &k) const noexcept {
        uint32_t h = static_cast<uint32_t>(k.hash());
        for (uint32_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (s.value == kNone) return kNone;
            if (s.hash == h && key_of_(s.value) == k) return s.value;
        }
    }

    /** Starts loading the cache line where a lookup of k begins (a hint; no effect on state). */
    void prefetch(const Key &k) const noexcept {
        mem::prefetch(&slots_[static_cast<uint32_t>(k.hash()) & mask_]);
    }

    /** The value whose stored hash matches k's, without comparing keys (which would read the
     *  caller's slab, the very miss a prefetch is meant to hide); kNone if none. A hint only:
     *  it may name another key's value. */
    uint32_t probable(const Key &k) const noexcept {
        uint32_t h = static_cast<uint32_t>(k.hash());
        for (uint32_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (s.value == kNone || s.hash == h) return s.value;
        }
    }

    /** Inserts a key that is not present. Returns false if the index is full. */
    bool insert(const Key &k, uint32_t value) noexcept {
        if (size_ + 1 > (mask_ + 1) / 2) return false;
        uint32_t h = static_cast<uint32_t>(k.hash());
        uint32_t i = h & mask_;
        while (slots_[i].value != kNone) i = (i + 1) & mask_;
        slots_[i] = {value, h};
        ++size_;
        return true;
    }

    /** Removes a key if present. */
    void erase(const Key &k) noexcept {
        uint32_t h = static_cast<uint32_t>(k.hash());
        uint32_t i = h & mask_;
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].value == kNone) return;
            if (slots_[i].hash == h && key_of_(slots_[i].value) == k) break;
        }
        // Backward shift: move later entries of the probe run into the hole when their home
        // position allows, so that no lookup ever stops early at the hole.
        uint32_t hole = i;
        for (uint32_t j = (i + 1) & mask_; slots_[j].value != kNone; j = (j + 1) & mask_) {
            uint32_t home = slots_[j].hash & mask_;
            bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole].value = kNone;
        --size_;
    }

    uint32_t size() const noexcept { return size_; }
    /** True when the slots came from the TableMemory hooks (TableArray::mapped). */
    bool mapped() const noexcept { return slots_.mapped(); }

  private:
    struct Slot {
        uint32_t value;
        uint32_t hash;
    };
    KeyOf key_of_;
    TableArray<Slot> slots_;
    uint32_t mask_ = 0;
    uint32_t size_ = 0;
};

}  // namespace homa::detail
