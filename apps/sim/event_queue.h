// The discrete-event core of homa-sim: events ordered by time, and among equal times by the
// order they were scheduled, so that a run is a pure function of its inputs (seeded arrivals)
// and two runs with the same seed schedule identical events.
//
// Threading: one simulation thread. Ownership: events are copied in and out (keep them small,
// e.g. a kind and two indices). Errors: pop() on an empty queue is a logic error (assert).
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <vector>

namespace homa::sim {

/** Simulated time in picoseconds: a 25 Gbps link moves one byte in 320 ps, so wire times are
 *  exact for any link speed a flag can give, and 2^64 ps is 213 days. */
using SimTime = uint64_t;
inline constexpr SimTime kPsPerNs = 1000;

template <typename Event>
class EventQueue {
  public:
    void push(SimTime at, const Event &e) {
        heap_.push_back(Entry{at, next_seq_++, e});
        std::push_heap(heap_.begin(), heap_.end(), later);
    }
    bool empty() const noexcept { return heap_.empty(); }
    size_t size() const noexcept { return heap_.size(); }
    /** Time of the earliest event; the queue must not be empty. */
    SimTime next_time() const noexcept {
        assert(!heap_.empty());
        return heap_.front().at;
    }
    /** Removes the earliest event (the first scheduled among equals); sets `at` to its time. */
    Event pop(SimTime *at) {
        assert(!heap_.empty());
        std::pop_heap(heap_.begin(), heap_.end(), later);
        Entry e = heap_.back();
        heap_.pop_back();
        *at = e.at;
        return e.event;
    }
    /** Events scheduled so far (the simulator's work, for its speed report). */
    uint64_t scheduled() const noexcept { return next_seq_; }

  private:
    struct Entry {
        SimTime at;
        uint64_t seq;
        Event event;
    };
    static bool later(const Entry &a, const Entry &b) noexcept {
        return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
    std::vector<Entry> heap_;
    uint64_t next_seq_ = 0;
};

}  // namespace homa::sim
