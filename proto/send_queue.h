// The sender's SRPT queue: which message's next DATA packet goes out first.
//
// DESIGN NOTES: a message whose remaining bytes fit in one packet (every short RPC, and every
// long one on its last packet) waits in a "last-packet lane": FIFO lists bucketed by remaining
// bytes in steps of 2^shift, with a bitmap of the non-empty buckets, so push, erase and top are
// O(1) and touch the bucket's head and tail, not log2(n) heap levels. Everything longer waits in
// an IndexHeap keyed by send_key(). Lane entries leave before heap entries: a lane entry has at
// most max_payload bytes left and a heap entry more, so this is still shortest-remaining-first;
// within a bucket the order is arrival (the heap breaks ties by age too), so short messages
// of nearly equal size may leave up to 2^shift bytes out of order.
// Why: with 10^4 single-packet RPCs queued behind a full TX ring, every send popped the heap's
// top, and the sift-down of its last element touched log2(n) entries and position slots, each
// a cache miss: 9 % of the client's cycles over memif (perf, 10^4 live 100 B RPCs).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "index_heap.h"

namespace homa::detail {

class SendQueue {
  public:
    static constexpr uint32_t kBuckets = 256;

    /** For indices 0 .. capacity - 1; `max_payload` is the largest DATA payload. Allocates
     *  once, here. */
    SendQueue(uint32_t capacity, uint32_t max_payload)
        : heap_(capacity), links_(capacity), max_payload_(max_payload) {
        while ((max_payload_ >> shift_) >= kBuckets) ++shift_;
        for (uint32_t b = 0; b < kBuckets; ++b) head_[b] = tail_[b] = kNotInHeap;
    }

    bool empty() const noexcept { return lane_size_ == 0 && heap_.empty(); }
    size_t size() const noexcept { return lane_size_ + heap_.size(); }
    size_t lane_size() const noexcept { return lane_size_; }
    bool contains(uint32_t i) const noexcept { return in_lane(i) || heap_.contains(i); }
    bool in_lane(uint32_t i) const noexcept { return links_[i].bucket != kNoBucket; }

    /** Queues i, which has `remaining` bytes to send and heap key `key`. */
    void push(uint32_t i, uint32_t remaining, uint64_t key) {
        if (remaining <= max_payload_) {
            lane_append(i, bucket_of(remaining));
        } else {
            heap_.push(i, key);
        }
    }

    /** Removes i if it is queued. */
    void erase(uint32_t i) {
        if (in_lane(i)) {
            lane_unlink(i);
        } else {
            heap_.erase(i);
        }
    }

    /** The message to send next. Requires !empty(). */
    uint32_t top() const noexcept {
        if (lane_size_ == 0) return heap_.top();
        return head_[first_bucket()];
    }

    /** How far behind top() the lane's prefetch target is: about the sends one poll's TX
     *  budget covers while a cache miss is outstanding. */
    static constexpr uint32_t kLaneAhead = 4;

    /** Up to two messages to prefetch now, before top() is sent; kNotInHeap where none. In
     *  the lane it is the one kLaneAhead places behind top() (or the last in its bucket),
     *  and the links of the one after it are prefetched. Called once per send, each call
     *  names the entry that has just come within reach, so every entry is asked for about
     *  kLaneAhead sends before it is sent, and the walk to it reads links asked for by
     *  earlier calls. One or two messages ahead was not enough: at 10^4 queued short
     *  messages the wait for the next RPC's lines stayed about half of transmit()'s time
     *  (perf, memif client, sixteenth session). In the heap they are the top's children. */
    void next_candidates(uint32_t out[2]) const noexcept {
        out[1] = kNotInHeap;
        if (lane_size_ != 0) {
            const uint32_t first = top();
            uint32_t i = first;
            for (uint32_t k = 0; k < kLaneAhead && links_[i].next != kNotInHeap; ++k) {
                i = links_[i].next;
            }
            out[0] = i == first ? kNotInHeap : i;
            if (links_[i].next != kNotInHeap) __builtin_prefetch(&links_[links_[i].next]);
            return;
        }
        out[0] = heap_.size() > 1 ? heap_.at(1) : kNotInHeap;
        out[1] = heap_.size() > 2 ? heap_.at(2) : kNotInHeap;
    }

    /** i (queued) sent a packet and now has `remaining` bytes left and key `key`. */
    void update(uint32_t i, uint32_t remaining, uint64_t key) {
        if (in_lane(i)) {
            uint8_t b = bucket_of(remaining);
            if (b == links_[i].bucket) return;
            lane_unlink(i);
            lane_append(i, b);
        } else if (remaining <= max_payload_) {
            heap_.erase(i);
            lane_append(i, bucket_of(remaining));
        } else {
            heap_.update(i, key);
        }
    }

  private:
    static constexpr uint16_t kNoBucket = UINT16_MAX;
    struct Links {
        uint32_t prev = kNotInHeap;
        uint32_t next = kNotInHeap;
        uint16_t bucket = kNoBucket;
    };

    uint8_t bucket_of(uint32_t remaining) const noexcept {
        return remaining == 0 ? 0 : static_cast<uint8_t>((remaining - 1) >> shift_);
    }
    uint32_t first_bucket() const noexcept {
        for (uint32_t w = 0; w < 4; ++w) {
            if (nonempty_[w] != 0) return w * 64 + std::countr_zero(nonempty_[w]);
        }
        return 0;  // unreachable while lane_size_ != 0
    }
    void lane_append(uint32_t i, uint8_t b) {
        Links &l = links_[i];
        l.bucket = b;
        l.next = kNotInHeap;
        l.prev = tail_[b];
        if (tail_[b] == kNotInHeap) {
            head_[b] = i;
            nonempty_[b / 64] |= uint64_t{1} << (b % 64);
        } else {
            links_[tail_[b]].next = i;
        }
        tail_[b] = i;
        ++lane_size_;
    }
    void lane_unlink(uint32_t i) {
        Links &l = links_[i];
        uint32_t b = l.bucket;
        if (l.prev == kNotInHeap) {
            head_[b] = l.next;
        } else {
            links_[l.prev].next = l.next;
        }
        if (l.next == kNotInHeap) {
            tail_[b] = l.prev;
        } else {
            links_[l.next].prev = l.prev;
        }
        if (head_[b] == kNotInHeap) nonempty_[b / 64] &= ~(uint64_t{1} << (b % 64));
        l = Links{};
        --lane_size_;
    }

    IndexHeap heap_;
    std::vector<Links> links_;
    uint32_t head_[kBuckets];
    uint32_t tail_[kBuckets];
    uint64_t nonempty_[kBuckets / 64] = {};
    uint32_t lane_size_ = 0;
    uint32_t max_payload_;
    uint32_t shift_ = 0;
};

}  // namespace homa::detail
