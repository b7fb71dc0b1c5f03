// A binary min-heap of slab indices with 64-bit keys, that knows where each index sits, so
// that an element can be removed or re-keyed in O(log n) instead of found by a scan. The engine
// keeps its SRPT queues in these (outgoing.cc: messages with bytes to send; grant.cc: messages
// waiting for grants; incoming.cc: messages waiting for bpages): a sorted vector with
// std::find made every packet pay for every queued message, which is what made throughput fall
// with 10^4 large messages in flight.
//
// DESIGN NOTES: keys live in the heap's own array next to the index, and positions in a dense
// array of their own, so a sift touches only these two arrays, never the (large) RPC structs:
// with 10^5 queued RPCs a comparison that reads the RPC is a cache miss per level, which made
// transmit() 10 % of the client's time. The caller computes the key (see engine_state.h for the
// packings) and re-keys an element with update() whenever its key changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace homa::detail {

inline constexpr uint32_t kNotInHeap = UINT32_MAX;

class IndexHeap {
  public:
    /** For indices 0 .. capacity - 1; holds at most that many. Allocates once, here. */
    explicit IndexHeap(uint32_t capacity) : pos_(capacity, kNotInHeap) { v_.reserve(capacity); }

    bool empty() const noexcept { return v_.empty(); }
    size_t size() const noexcept { return v_.size(); }
    uint32_t top() const noexcept { return v_.front().idx; }
    /** The element at heap position `pos` (< size()): 1 and 2 are the next tops' candidates. */
    uint32_t at(size_t pos) const noexcept { return v_[pos].idx; }
    uint64_t top_key() const noexcept { return v_.front().key; }
    bool contains(uint32_t i) const noexcept { return pos_[i] != kNotInHeap; }
    /** The key of i, which must be contained. */
    uint64_t key_of(uint32_t i) const noexcept { return v_[pos_[i]].key; }

    void push(uint32_t i, uint64_t key) {
        v_.push_back({key, i});
        sift_up(static_cast<uint32_t>(v_.size() - 1));
    }

    /** Removes i if it is in the heap. */
    void erase(uint32_t i) {
        uint32_t at = pos_[i];
        if (at == kNotInHeap) return;
        pos_[i] = kNotInHeap;
        Entry last = v_.back();
        v_.pop_back();
        if (at == v_.size()) return;
        v_[at] = last;
        pos_[last.idx] = at;
        sift_up(at);
        sift_down(pos_[last.idx]);
    }

    uint32_t pop() {
        uint32_t t = v_.front().idx;
        erase(t);
        return t;
    }

    /** Gives i (if present) a new key and restores the order. */
    void update(uint32_t i, uint64_t key) {
        uint32_t at = pos_[i];
        if (at == kNotInHeap) return;
        v_[at].key = key;
        sift_up(at);
        sift_down(pos_[i]);
    }

  private:
    struct Entry {
        uint64_t key;
        uint32_t idx;
    };
    void place(uint32_t at, const Entry &e) {
        v_[at] = e;
        pos_[e.idx] = at;
    }
    void sift_up(uint32_t at) {
        Entry e = v_[at];
        while (at > 0) {
            uint32_t parent = (at - 1) / 2;
            if (!(e.key < v_[parent].key)) break;
            place(at, v_[parent]);
            at = parent;
        }
        place(at, e);
    }
    void sift_down(uint32_t at) {
        Entry e = v_[at];
        uint32_t n = static_cast<uint32_t>(v_.size());
        for (;;) {
            uint32_t child = 2 * at + 1;
            if (child >= n) break;
            if (child + 1 < n && v_[child + 1].key < v_[child].key) ++child;
            if (!(v_[child].key < e.key)) break;
            place(at, v_[child]);
            at = child;
        }
        place(at, e);
    }

    std::vector<Entry> v_;
    std::vector<uint32_t> pos_;
};

}  // namespace homa::detail
