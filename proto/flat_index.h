// A fixed-capacity open-addressing hash index from a key to a uint32 slot number, for the RPC
// and peer tables. DESIGN NOTES: capacity is fixed at construction (a power of two at least
// twice the number of entries) so that the datapath never allocates or rehashes; linear probing
// with backward-shift deletion keeps lookups O(1) without tombstones piling up under churn
// (millions of short RPCs). std::unordered_map was rejected: it allocates a node per insert.
#pragma once

#include <cstdint>
#include <vector>

namespace homa::detail {

inline uint64_t mix64(uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

template <typename Key>
class FlatIndex {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    explicit FlatIndex(uint32_t max_entries) {
        uint32_t cap = 16;
        while (cap < max_entries * 2) cap <<= 1;
        slots_.assign(cap, Slot{Key{}, kNone, 0});
        mask_ = cap - 1;
    }

    uint32_t find(const Key &k) const noexcept {
        for (uint32_t i = home_of(k);; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (s.value == kNone) return kNone;
            if (s.key == k) return s.value;
        }
    }

    /** Inserts a key that is not present. Returns false if the index is full. */
    bool insert(const Key &k, uint32_t value) noexcept {
        if (size_ + 1 > (mask_ + 1) / 2) return false;
        uint32_t h = home_of(k);
        uint32_t i = h;
        while (slots_[i].value != kNone) i = (i + 1) & mask_;
        slots_[i] = {k, value, h};
        ++size_;
        return true;
    }

    /** Removes a key if present. */
    void erase(const Key &k) noexcept {
        uint32_t i = home_of(k);
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].value == kNone) return;
            if (slots_[i].key == k) break;
        }
        // Backward shift: move later entries of the probe run into the hole when their home
        // position allows, so that no lookup ever stops early at the hole.
        uint32_t hole = i;
        for (uint32_t j = (i + 1) & mask_; slots_[j].value != kNone; j = (j + 1) & mask_) {
            uint32_t h = slots_[j].home;  // stored: no rehash while walking the run
            bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
            if (movable) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole].value = kNone;
        --size_;
    }

    uint32_t size() const noexcept { return size_; }

private:
    struct Slot {
        Key key;
        uint32_t value;
        uint32_t home;  ///< home_of(key), kept so deletion never recomputes a hash
    };
    uint32_t home_of(const Key &k) const noexcept {
        return static_cast<uint32_t>(k.hash()) & mask_;
    }

    std::vector<Slot> slots_;
    uint32_t mask_ = 0;
    uint32_t size_ = 0;
};

}  // namespace homa::detail
