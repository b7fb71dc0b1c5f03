// The sender's SRPT queue: which message's next DATA packet goes out first.
//
// DESIGN NOTES: a message whose remaining bytes fit in one packet (every short RPC, and every
// long one on its last packet) waits in a "last-packet lane": FIFO queues bucketed by remaining
// bytes in steps of 2^shift, with a bitmap of the non-empty buckets, so push, erase and top are
// O(1). Everything longer waits in an IndexHeap keyed by send_key(). Lane entries leave before
// heap entries: a lane entry has at most max_payload bytes left and a heap entry more, so this
// is still shortest-remaining-first; within a bucket the order is arrival (the heap breaks ties
// by age too), so short messages of nearly equal size may leave up to 2^shift bytes out of
// order.
// Why a lane: with 10^4 single-packet RPCs queued behind a full TX ring, every send popped the
// heap's top, and the sift-down of its last element touched log2(n) entries and position slots,
// each a cache miss: 9 % of the client's cycles over memif (perf, 10^4 live 100 B RPCs).
// Why a bucket is an array of indices, not a linked list: the send path prefetches the message
// a few places behind the top. Through a list it had to walk there link by link, each link in
// another message's slot and cold at 10^5 queued, so every send waited on a chain of misses:
// about two thirds of Engine::poll's samples at 10^5 live 100 B RPCs (perf, memif client,
// thirty-first session). In an array the entry k places ahead is one read away.
// - A bucket is a sequence of positions; its entries live in chunks of 16 (one cache line each)
//   from a pool allocated once, chained head to tail. Position p sits at slot p % 16 of its
//   chunk, so the entry a few places ahead is in the head chunk or the next.
// - Each queued message's own record holds the queue's "lane word" (LaneOf): its bucket and
//   position, 0 when it is not in the lane. The engine keeps the word in the RPC's MsgOut, a
//   line the send path reads anyway, so queueing touches no array of its own per message.
// - Erasing from the middle of a bucket (an abort, a timeout, a message moving bucket) only
//   clears the word: the entry stays as a stale one, skipped when the head reaches it. An entry
//   at position p of bucket b naming i is live iff i's word is (p, b). When a bucket holds more
//   than kStaleSlack stale entries beyond its live ones it is compacted, which keeps the entries
//   of all buckets within 2 * capacity + 256 * kStaleSlack and so within the pool, and costs
//   O(1) per erase over time. Popping the top, the send path's only removal, leaves nothing
//   stale.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "homa/mem/prefetch.h"
#include "index_heap.h"

namespace homa::detail {

/** `LaneOf` is a functor with `uint64_t &operator()(uint32_t i) const`: the lane word of index
 *  i, stored with whatever i names. The queue owns these words; every word must be 0 before its
 *  index is first pushed, and stays 0 while the index is not in the lane. Threading: one owner
 *  thread. Errors: none (capacity is enforced by the caller's index range). */
template <typename LaneOf>
class SendQueue {
  public:
    static constexpr uint32_t kBuckets = 256;
    /** Stale entries a bucket may hold beyond its live ones before it is compacted. */
    static constexpr uint32_t kStaleSlack = 16;

    /** For indices 0 .. capacity - 1; `max_payload` is the largest DATA payload. Allocates
     *  once, here. */
    SendQueue(uint32_t capacity, uint32_t max_payload, LaneOf lane_of)
        : heap_(capacity),
          lane_of_(lane_of),
          chunks_(pool_chunks(capacity)),
          chunk_next_(chunks_.size()),
          max_payload_(max_payload) {
        while ((max_payload_ >> shift_) >= kBuckets) ++shift_;
        for (uint32_t c = 0; c < chunk_next_.size(); ++c) chunk_next_[c] = c + 1;
        chunk_next_.back() = kNone;
        free_chunks_ = 0;
        free_count_ = static_cast<uint32_t>(chunks_.size());
    }

    bool empty() const noexcept { return lane_size_ == 0 && heap_.empty(); }
    size_t size() const noexcept { return lane_size_ + heap_.size(); }
    size_t lane_size() const noexcept { return lane_size_; }
    bool contains(uint32_t i) const noexcept { return in_lane(i) || heap_.contains(i); }
    bool in_lane(uint32_t i) const noexcept { return lane_of_(i) != 0; }
    /** Chunks not in use (tests: the pool bound). */
    uint32_t free_chunks() const noexcept { return free_count_; }

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
            lane_remove(i);
        } else {
            heap_.erase(i);
        }
    }

    /** The message to send next. Requires !empty(). */
    uint32_t top() const noexcept {
        if (lane_size_ == 0) return heap_.top();
        const Bucket &k = buckets_[first_bucket()];
        return chunks_[k.head_chunk].at[k.head % kChunk];
    }

    /** How far behind top() the lane's prefetch target is: about the sends one poll's TX
     *  budget covers while a cache miss is outstanding. */
    static constexpr uint32_t kLaneAhead = 4;

    /** Up to two messages to prefetch now, before top() is sent; kNotInHeap where none. In
     *  the lane it is the entry kLaneAhead places behind top() (or the last of its bucket;
     *  possibly a stale entry, which is harmless for a prefetch), and the chunk after it is
     *  prefetched. Called once per send, so every entry is asked for about kLaneAhead sends
     *  before it is sent. One or two messages ahead was not enough: at 10^4 queued short
     *  messages the wait for the next RPC's lines stayed about half of transmit()'s time
     *  (perf, memif client, sixteenth session). In the heap they are the top's children. */
    void next_candidates(uint32_t out[2]) const noexcept {
        out[1] = kNotInHeap;
        if (lane_size_ != 0) {
            const Bucket &k = buckets_[first_bucket()];
            uint64_t p = std::min<uint64_t>(k.head + kLaneAhead, k.tail - 1);
            uint32_t c = k.head_chunk;
            if (p / kChunk != k.head / kChunk) c = chunk_next_[c];
            out[0] = p == k.head ? kNotInHeap : chunks_[c].at[p % kChunk];
            if (c != k.tail_chunk) mem::prefetch(&chunks_[chunk_next_[c]]);
            return;
        }
        out[0] = heap_.size() > 1 ? heap_.at(1) : kNotInHeap;
        out[1] = heap_.size() > 2 ? heap_.at(2) : kNotInHeap;
    }

    /** i (queued) sent a packet and now has `remaining` bytes left and key `key`. */
    void update(uint32_t i, uint32_t remaining, uint64_t key) {
        if (in_lane(i)) {
            uint8_t b = bucket_of(remaining);
            if (b == bucket_in(lane_of_(i))) return;
            lane_remove(i);
            lane_append(i, b);
        } else if (remaining <= max_payload_) {
            heap_.erase(i);
            lane_append(i, bucket_of(remaining));
        } else {
            heap_.update(i, key);
        }
    }

  private:
    static constexpr uint32_t kChunk = 16;
    static constexpr uint32_t kNone = UINT32_MAX;
    // Positions start at one chunk so that no lane word is 0.
    static constexpr uint64_t kFirstPosition = kChunk;

    struct alignas(64) Chunk {
        uint32_t at[kChunk];
    };
    struct Bucket {
        uint64_t head = kFirstPosition;  ///< Position of the first entry (live or stale).
        uint64_t tail = kFirstPosition;  ///< One past the last entry.
        uint32_t head_chunk = kNone;     ///< Holds position head; kNone when head == tail.
        uint32_t tail_chunk = kNone;     ///< Holds position tail - 1.
        uint32_t live = 0;
        uint32_t stale = 0;
    };

    // Entries in all buckets stay within 2 * capacity + kBuckets * kStaleSlack (see the DESIGN
    // NOTES); a bucket's chunks cover its entries plus at most a partial chunk at each end.
    static size_t pool_chunks(uint32_t capacity) {
        return (2 * size_t{capacity} + kBuckets * kStaleSlack) / kChunk + 2 * kBuckets + 1;
    }
    static uint64_t word(uint64_t position, uint8_t b) noexcept { return position << 8 | b; }
    static uint8_t bucket_in(uint64_t w) noexcept { return static_cast<uint8_t>(w & 0xff); }
    static uint64_t position_in(uint64_t w) noexcept { return w >> 8; }

    uint8_t bucket_of(uint32_t remaining) const noexcept {
        return remaining == 0 ? 0 : static_cast<uint8_t>((remaining - 1) >> shift_);
    }
    uint32_t first_bucket() const noexcept {
        for (uint32_t w = 0; w < 4; ++w) {
            if (nonempty_[w] != 0) return w * 64 + std::countr_zero(nonempty_[w]);
        }
        return 0;  // unreachable while lane_size_ != 0
    }
    uint32_t take_chunk() noexcept {
        uint32_t c = free_chunks_;
        // The pool bound makes this unreachable; running past it would corrupt the queue.
        if (c == kNone) std::abort();
        free_chunks_ = chunk_next_[c];
        chunk_next_[c] = kNone;
        --free_count_;
        return c;
    }
    void give_chunk(uint32_t c) noexcept {
        chunk_next_[c] = free_chunks_;
        free_chunks_ = c;
        ++free_count_;
    }
    bool holds(uint8_t b, uint32_t chunk, uint64_t p) const noexcept {
        return lane_of_(chunks_[chunk].at[p % kChunk]) == word(p, b);
    }

    void lane_append(uint32_t i, uint8_t b) {
        Bucket &k = buckets_[b];
        if (k.head == k.tail) {
            k.head_chunk = k.tail_chunk = take_chunk();
            nonempty_[b / 64] |= uint64_t{1} << (b % 64);
        } else if (k.tail % kChunk == 0) {
            uint32_t c = take_chunk();
            chunk_next_[k.tail_chunk] = c;
            k.tail_chunk = c;
        }
        chunks_[k.tail_chunk].at[k.tail % kChunk] = i;
        lane_of_(i) = word(k.tail, b);
        ++k.tail;
        ++k.live;
        ++lane_size_;
    }

    void lane_remove(uint32_t i) {
        uint64_t &w = lane_of_(i);
        const uint8_t b = bucket_in(w);
        const uint64_t p = position_in(w);
        w = 0;
        Bucket &k = buckets_[b];
        --k.live;
        --lane_size_;
        if (k.live == 0) {
            clear_bucket(k, b);
            return;
        }
        if (p == k.head) {
            step_head(k);
            while (k.stale != 0 && !holds(b, k.head_chunk, k.head)) {
                --k.stale;
                step_head(k);
            }
        } else {
            ++k.stale;
        }
        if (k.stale > k.live + kStaleSlack) compact(k, b);
    }

    // Moves the head one position on; the bucket still has a live entry past it.
    void step_head(Bucket &k) noexcept {
        ++k.head;
        if (k.head % kChunk == 0) {
            uint32_t c = k.head_chunk;
            k.head_chunk = chunk_next_[c];
            give_chunk(c);
        }
    }

    // No live entry left: every chunk back to the pool. Positions go on from the tail, so a
    // word is never reused for the same bucket while any entry could still name it.
    void clear_bucket(Bucket &k, uint8_t b) noexcept {
        for (uint32_t c = k.head_chunk; c != kNone;) {
            uint32_t next = chunk_next_[c];
            give_chunk(c);
            c = next;
        }
        k.head = k.tail;
        k.head_chunk = k.tail_chunk = kNone;
        k.stale = 0;
        nonempty_[b / 64] &= ~(uint64_t{1} << (b % 64));
    }

    // Moves the live entries together from the head on, rewriting their words, and returns
    // the chunks past the new tail. Requires k.live != 0.
    void compact(Bucket &k, uint8_t b) noexcept {
        uint32_t rc = k.head_chunk, wc = k.head_chunk;
        uint64_t w = k.head;
        for (uint64_t r = k.head; r < k.tail; ++r) {
            if (r % kChunk == 0 && r != k.head) rc = chunk_next_[rc];
            uint32_t i = chunks_[rc].at[r % kChunk];
            if (lane_of_(i) != word(r, b)) continue;
            if (w % kChunk == 0 && w != k.head) wc = chunk_next_[wc];
            chunks_[wc].at[w % kChunk] = i;
            lane_of_(i) = word(w, b);
            ++w;
        }
        for (uint32_t c = chunk_next_[wc]; c != kNone;) {
            uint32_t next = chunk_next_[c];
            give_chunk(c);
            c = next;
        }
        chunk_next_[wc] = kNone;
        k.tail = w;
        k.tail_chunk = wc;
        k.stale = 0;
    }

    IndexHeap heap_;
    LaneOf lane_of_;
    std::vector<Chunk> chunks_;
    std::vector<uint32_t> chunk_next_;  ///< Next chunk of a bucket, or of the free list.
    uint32_t free_chunks_ = kNone;
    uint32_t free_count_ = 0;
    Bucket buckets_[kBuckets];
    uint64_t nonempty_[kBuckets / 64] = {};
    uint32_t lane_size_ = 0;
    uint32_t max_payload_;
    uint32_t shift_ = 0;
};

}  // namespace homa::detail
