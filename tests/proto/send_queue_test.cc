// The sender's SRPT queue: the last-packet lane and the heap, against a reference model.
#include "proto/send_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace homa::detail {
namespace {

constexpr uint32_t kPayload = 1444;  // max payload of a 1500-byte MTU

struct LaneWords {
    std::vector<uint64_t> *words;
    uint64_t &operator()(uint32_t i) const noexcept { return (*words)[i]; }
};
struct Words {
    std::vector<uint64_t> words;
};
// The queue with its lane words in a vector, as the engine keeps them in its RPCs.
struct TestQueue : Words, SendQueue<LaneWords> {
    TestQueue(uint32_t capacity, uint32_t max_payload)
        : Words{std::vector<uint64_t>(capacity)},
          SendQueue<LaneWords>(capacity, max_payload, LaneWords{&words}) {}
};

uint64_t key(uint32_t remaining, uint32_t age) { return uint64_t{remaining} << 44 | age; }

// Sends everything, as transmit() does: the order in which the queue gives its tops.
std::vector<uint32_t> drain(SendQueue<LaneWords> &q) {
    std::vector<uint32_t> order;
    while (!q.empty()) {
        order.push_back(q.top());
        q.erase(order.back());
    }
    return order;
}

TEST(SendQueue, LastPacketsGoBeforeLongerMessagesWhateverTheirAge) {
    TestQueue q(16, kPayload);
    q.push(1, 100'000, key(100'000, 1));
    q.push(2, 5'000, key(5'000, 2));
    q.push(3, 1'000, key(1'000, 3));
    q.push(4, 100, key(100, 4));
    EXPECT_EQ(q.size(), 4u);
    EXPECT_EQ(q.lane_size(), 2u);
    EXPECT_EQ(drain(q), (std::vector<uint32_t>{4, 3, 2, 1}));
}

TEST(SendQueue, EqualLastPacketsLeaveInArrivalOrder) {
    TestQueue q(64, kPayload);
    for (uint32_t i = 0; i < 50; ++i) q.push(49 - i, 100, key(100, i));
    for (uint32_t i = 0; i < 50; ++i) {
        ASSERT_EQ(q.top(), 49 - i);
        q.erase(q.top());
    }
}

TEST(SendQueue, EraseFromTheMiddleHeadAndTailOfABucket) {
    TestQueue q(8, kPayload);
    for (uint32_t i = 0; i < 5; ++i) q.push(i, 200, key(200, i));
    q.erase(2);  // middle
    q.erase(0);  // head
    q.erase(4);  // tail
    EXPECT_FALSE(q.contains(0));
    EXPECT_TRUE(q.contains(1));
    EXPECT_EQ(q.top(), 1u);
    q.erase(1);
    EXPECT_EQ(q.top(), 3u);
    q.push(0, 200, key(200, 9));  // the bucket's tail is right after an erase of the old tail
    q.erase(3);
    EXPECT_EQ(q.top(), 0u);
    q.erase(0);
    EXPECT_TRUE(q.empty());
    q.erase(0);  // not queued: nothing happens
    EXPECT_TRUE(q.empty());
}

TEST(SendQueue, AMessageOnItsLastPacketMovesFromTheHeapToTheLane) {
    TestQueue q(8, kPayload);
    q.push(1, 3 * kPayload, key(3 * kPayload, 1));
    q.push(2, 2 * kPayload, key(2 * kPayload, 2));
    EXPECT_EQ(q.top(), 2u);
    q.update(2, kPayload, key(kPayload, 2));
    EXPECT_TRUE(q.in_lane(2));
    EXPECT_EQ(q.top(), 2u);
    // A message that arrives with fewer bytes left goes first even though 2 is older.
    q.push(3, 10, key(10, 3));
    EXPECT_EQ(q.top(), 3u);
    q.erase(3);
    q.erase(2);
    q.update(1, 2 * kPayload, key(2 * kPayload, 1));  // stays in the heap
    EXPECT_FALSE(q.in_lane(1));
    EXPECT_EQ(q.top(), 1u);
}

TEST(SendQueue, JumboPayloadsStillMapIntoTheBuckets) {
    const uint32_t jumbo = 8'944;  // 9000-byte MTU: more than 256 buckets of 1 byte
    TestQueue q(4, jumbo);
    q.push(0, jumbo, key(jumbo, 0));
    q.push(1, 1, key(1, 1));
    q.push(2, jumbo + 1, key(jumbo + 1, 2));
    EXPECT_TRUE(q.in_lane(0));
    EXPECT_TRUE(q.in_lane(1));
    EXPECT_FALSE(q.in_lane(2));
    EXPECT_EQ(q.top(), 1u);
}

TEST(SendQueue, NextCandidatesNameWhatFollowsTheTop) {
    TestQueue q(16, kPayload);
    uint32_t next[2];
    q.push(5, 100, key(100, 0));
    q.next_candidates(next);
    EXPECT_EQ(next[0], kNotInHeap);  // nothing behind the top
    q.push(6, 100, key(100, 1));
    q.next_candidates(next);
    EXPECT_EQ(next[0], 6u);
    EXPECT_EQ(next[1], kNotInHeap);
    // The lane names the entry kLaneAhead places behind the top (transmit prefetches it that
    // many sends before it goes), or the last one when the lane is shorter.
    for (uint32_t i = 7; i < 12; ++i) q.push(i, 100, key(100, i));
    q.next_candidates(next);
    EXPECT_EQ(next[0], 5u + TestQueue::kLaneAhead);
    EXPECT_EQ(next[1], kNotInHeap);
    q.erase(5);  // the top sent: the target moves one on
    q.next_candidates(next);
    EXPECT_EQ(next[0], 6u + TestQueue::kLaneAhead);
    for (uint32_t i = 6; i < 12; ++i) q.erase(i);
    q.push(1, 10'000, key(10'000, 0));
    q.push(2, 20'000, key(20'000, 1));
    q.push(3, 30'000, key(30'000, 2));
    q.next_candidates(next);
    EXPECT_TRUE((next[0] == 2 && next[1] == 3) || (next[0] == 3 && next[1] == 2));
}

// The prefetch target a few places behind the top sits in the head's chunk or the next one:
// both are found, whichever 16-entry chunk boundary lies between.
TEST(SendQueue, NextCandidatesCrossAChunkBoundary) {
    TestQueue q(64, kPayload);
    for (uint32_t i = 0; i < 40; ++i) q.push(i, 100, key(100, i));
    uint32_t next[2];
    for (uint32_t top = 0; top < 36; ++top) {
        ASSERT_EQ(q.top(), top);
        q.next_candidates(next);
        EXPECT_EQ(next[0], top + TestQueue::kLaneAhead) << "top " << top;
        q.erase(top);
    }
    q.next_candidates(next);  // 36 .. 39 left: the last one
    EXPECT_EQ(next[0], 39u);
}

TEST(SendQueue, StaleEntriesAreSkippedAndTheirChunksReturn) {
    TestQueue q(64, kPayload);
    const uint32_t pool = q.free_chunks();
    for (uint32_t i = 0; i < 40; ++i) q.push(i, 100, key(100, i));
    EXPECT_EQ(pool - q.free_chunks(), 3u);            // 40 entries in chunks of 16
    for (uint32_t i = 1; i < 40; i += 2) q.erase(i);  // from the middle: left stale
    for (uint32_t i = 0; i < 40; ++i) EXPECT_EQ(q.words[i] != 0, i % 2 == 0) << i;
    std::vector<uint32_t> evens;
    for (uint32_t i = 0; i < 40; i += 2) evens.push_back(i);
    EXPECT_EQ(drain(q), evens);
    EXPECT_EQ(q.free_chunks(), pool);
}

TEST(SendQueue, AnIndexQueuedAgainIsNotTakenForItsStaleEntry) {
    TestQueue q(8, kPayload);
    q.push(1, 100, key(100, 1));
    q.push(2, 100, key(100, 2));
    q.push(3, 100, key(100, 3));
    q.erase(2);                   // stale at the second position
    q.push(2, 100, key(100, 4));  // and live again at the tail
    EXPECT_EQ(drain(q), (std::vector<uint32_t>{1, 3, 2}));
}

TEST(SendQueue, ABucketOfMostlyStaleEntriesIsCompacted) {
    TestQueue q(128, kPayload);
    const uint32_t pool = q.free_chunks();
    for (uint32_t i = 0; i < 100; ++i) q.push(i, 100, key(100, i));
    for (uint32_t i = 1; i < 99; ++i) {
        if (i != 50) q.erase(i);
    }
    // 3 live entries; without compaction the 97 stale ones would hold all 7 chunks.
    EXPECT_LE(pool - q.free_chunks(), 2u);
    q.push(7, 100, key(100, 200));
    EXPECT_EQ(drain(q), (std::vector<uint32_t>{0, 50, 99, 7}));
    EXPECT_EQ(q.free_chunks(), pool);
}

// Random pushes, erases and sends against a model of the documented order: lane entries
// (remaining <= max payload) by bucket, then by when they entered it; then heap entries by key.
// Every step also checks that an index's lane word is set exactly while it waits in the lane,
// and at the end that every chunk went back to the pool.
void churn(uint32_t slots, int steps, uint32_t push_share, uint32_t erase_share,
           uint32_t max_lane_bytes, bool with_heap, uint32_t seed) {
    TestQueue q(slots, kPayload);
    const uint32_t pool = q.free_chunks();
    struct Entry {
        uint32_t remaining;
        uint64_t key;
        uint64_t lane_seq;
    };
    std::map<uint32_t, Entry> model;
    std::mt19937 rng(seed);
    uint64_t seq = 0;
    uint32_t age = 0;
    auto bucket = [](uint32_t rem) { return rem == 0 ? 0u : (rem - 1) >> 3; };  // 1444 -> shift 3
    auto expected_top = [&]() {
        uint32_t best = kNotInHeap;
        for (const auto &[i, e] : model) {
            if (best == kNotInHeap) {
                best = i;
                continue;
            }
            const Entry &b = model.at(best);
            bool e_lane = e.remaining <= kPayload, b_lane = b.remaining <= kPayload;
            bool better;
            if (e_lane != b_lane) {
                better = e_lane;
            } else if (e_lane) {
                better = bucket(e.remaining) != bucket(b.remaining)
                             ? bucket(e.remaining) < bucket(b.remaining)
                             : e.lane_seq < b.lane_seq;
            } else {
                better = e.key < b.key;
            }
            if (better) best = i;
        }
        return best;
    };
    for (int step = 0; step < steps; ++step) {
        uint32_t op = rng() % 10;
        if (op < push_share) {
            uint32_t i = rng() % slots;
            if (model.count(i)) continue;
            uint32_t rem =
                with_heap && rng() % 4 == 0 ? 1 + rng() % 50'000 : 1 + rng() % max_lane_bytes;
            Entry e{rem, key(rem, ++age), ++seq};
            model[i] = e;
            q.push(i, rem, e.key);
        } else if (op < push_share + erase_share && !model.empty()) {
            auto it = model.begin();
            std::advance(it, rng() % model.size());
            q.erase(it->first);
            model.erase(it);
        } else if (!model.empty()) {
            // Send one packet of the top, as transmit() does.
            uint32_t t = q.top();
            ASSERT_EQ(t, expected_top()) << "step " << step;
            Entry &e = model.at(t);
            uint32_t sent = std::min(kPayload, e.remaining);
            if (sent == e.remaining) {
                q.erase(t);
                model.erase(t);
                continue;
            }
            bool was_lane = e.remaining <= kPayload;
            uint32_t old_bucket = bucket(e.remaining);
            e.remaining -= sent;
            e.key = key(e.remaining, static_cast<uint32_t>(e.key & 0xffffffff));
            if (!was_lane || old_bucket != bucket(e.remaining)) e.lane_seq = ++seq;
            q.update(t, e.remaining, e.key);
        }
        ASSERT_EQ(q.size(), model.size());
        ASSERT_GT(q.free_chunks(), 0u);
        if (step % 64 == 0) {
            for (uint32_t i = 0; i < slots; ++i) {
                auto it = model.find(i);
                bool lane = it != model.end() && it->second.remaining <= kPayload;
                ASSERT_EQ(q.words[i] != 0, lane) << "index " << i << " step " << step;
            }
        }
    }
    while (!model.empty()) {
        uint32_t t = q.top();
        ASSERT_EQ(t, expected_top());
        q.erase(t);
        model.erase(t);
    }
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.free_chunks(), pool);
}

TEST(SendQueue, MatchesTheModelUnderRandomChurn) {
    churn(2'000, 60'000, 4, 2, kPayload + 100, true, 7);
}

// Mostly erases from the middle of a few buckets: stale entries, compactions, indices queued
// again while their stale entries still wait.
TEST(SendQueue, MatchesTheModelWhenMostRemovalsAreFromTheMiddle) {
    churn(300, 100'000, 5, 4, 40, false, 11);
}

}  // namespace
}  // namespace homa::detail
