// A binary min-heap of slab indices that knows where each index sits, so that an element can be
// removed or re-keyed in O(log n) instead of found by a scan. The engine keeps its SRPT queues in
// these (grant.cc: messages waiting for grants; incoming.cc: messages waiting for bpages): a
// sorted vector with std::find made every packet pay for every queued message, which is what
// made throughput fall with 10^4 large messages in flight.
//
// `Less(a, b)` orders two indices; `Pos(i)` is a reference to index i's position field, which
// the heap owns while i is in it (kNotInHeap otherwise). Storage is reserved up front: push()
// never allocates as long as the heap holds at most the reserved count.
#pragma once

#include <cstdint>
#include <vector>

namespace homa::detail {

inline constexpr uint32_t kNotInHeap = UINT32_MAX;

template <typename Less, typename Pos>
class IndexHeap {
public:
    IndexHeap(Less less, Pos pos) : less_(less), pos_(pos) {}

    void reserve(size_t n) { v_.reserve(n); }
    bool empty() const noexcept { return v_.empty(); }
    size_t size() const noexcept { return v_.size(); }
    uint32_t top() const noexcept { return v_.front(); }
    bool contains(uint32_t i) const noexcept { return pos_(i) != kNotInHeap; }

    void push(uint32_t i) {
        v_.push_back(i);
        sift_up(static_cast<uint32_t>(v_.size() - 1));
    }

    /** Removes i if it is in the heap. */
    void erase(uint32_t i) {
        uint32_t at = pos_(i);
        if (at == kNotInHeap) return;
        pos_(i) = kNotInHeap;
        uint32_t last = v_.back();
        v_.pop_back();
        if (at == v_.size()) return;
        place(at, last);
        sift_up(at);
        sift_down(pos_(last));
    }

    uint32_t pop() {
        uint32_t t = v_.front();
        erase(t);
        return t;
    }

    /** Restores order after i's key changed (either direction). */
    void update(uint32_t i) {
        uint32_t at = pos_(i);
        if (at == kNotInHeap) return;
        sift_up(at);
        sift_down(pos_(i));
    }

    /** The elements in heap (not sorted) order, for walks that visit every one. */
    const std::vector<uint32_t> &items() const noexcept { return v_; }

private:
    void place(uint32_t at, uint32_t i) {
        v_[at] = i;
        pos_(i) = at;
    }
    void sift_up(uint32_t at) {
        uint32_t i = v_[at];
        while (at > 0) {
            uint32_t parent = (at - 1) / 2;
            if (!less_(i, v_[parent])) break;
            place(at, v_[parent]);
            at = parent;
        }
        place(at, i);
    }
    void sift_down(uint32_t at) {
        uint32_t i = v_[at];
        uint32_t n = static_cast<uint32_t>(v_.size());
        for (;;) {
            uint32_t child = 2 * at + 1;
            if (child >= n) break;
            if (child + 1 < n && less_(v_[child + 1], v_[child])) ++child;
            if (!less_(v_[child], i)) break;
            place(at, v_[child]);
            at = child;
        }
        place(at, i);
    }

    Less less_;
    Pos pos_;
    std::vector<uint32_t> v_;
};

}  // namespace homa::detail
