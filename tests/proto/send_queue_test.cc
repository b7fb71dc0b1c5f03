// The sender's SRPT queue: the last-packet lane and the heap, against a reference model.
#include "proto/send_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace homa::detail {
namespace {

constexpr uint32_t kPayload = 1444;  // max payload of a 1500-byte MTU

uint64_t key(uint32_t remaining, uint32_t age) { return uint64_t{remaining} << 44 | age; }

TEST(SendQueue, LastPacketsGoBeforeLongerMessagesWhateverTheirAge) {
    SendQueue q(16, kPayload);
    q.push(1, 100'000, key(100'000, 1));
    q.push(2, 5'000, key(5'000, 2));
    q.push(3, 1'000, key(1'000, 3));
    q.push(4, 100, key(100, 4));
    EXPECT_EQ(q.size(), 4u);
    EXPECT_EQ(q.lane_size(), 2u);
    uint32_t order[4];
    for (uint32_t &o : order) {
        o = q.top();
        q.erase(o);
    }
    EXPECT_EQ(order[0], 4u);
    EXPECT_EQ(order[1], 3u);
    EXPECT_EQ(order[2], 2u);
    EXPECT_EQ(order[3], 1u);
    EXPECT_TRUE(q.empty());
}

TEST(SendQueue, EqualLastPacketsLeaveInArrivalOrder) {
    SendQueue q(64, kPayload);
    for (uint32_t i = 0; i < 50; ++i) q.push(49 - i, 100, key(100, i));
    for (uint32_t i = 0; i < 50; ++i) {
        ASSERT_EQ(q.top(), 49 - i);
        q.erase(q.top());
    }
}

TEST(SendQueue, EraseFromTheMiddleHeadAndTailOfABucket) {
    SendQueue q(8, kPayload);
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
    SendQueue q(8, kPayload);
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
    SendQueue q(4, jumbo);
    q.push(0, jumbo, key(jumbo, 0));
    q.push(1, 1, key(1, 1));
    q.push(2, jumbo + 1, key(jumbo + 1, 2));
    EXPECT_TRUE(q.in_lane(0));
    EXPECT_TRUE(q.in_lane(1));
    EXPECT_FALSE(q.in_lane(2));
    EXPECT_EQ(q.top(), 1u);
}

TEST(SendQueue, NextCandidatesNameWhatFollowsTheTop) {
    SendQueue q(16, kPayload);
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
    EXPECT_EQ(next[0], 5u + SendQueue::kLaneAhead);
    EXPECT_EQ(next[1], kNotInHeap);
    q.erase(5);  // the top sent: the target moves one on
    q.next_candidates(next);
    EXPECT_EQ(next[0], 6u + SendQueue::kLaneAhead);
    for (uint32_t i = 6; i < 12; ++i) q.erase(i);
    q.push(1, 10'000, key(10'000, 0));
    q.push(2, 20'000, key(20'000, 1));
    q.push(3, 30'000, key(30'000, 2));
    q.next_candidates(next);
    EXPECT_TRUE((next[0] == 2 && next[1] == 3) || (next[0] == 3 && next[1] == 2));
}

// Random pushes, erases and sends against a model of the documented order: lane entries
// (remaining <= max payload) by bucket, then by when they entered it; then heap entries by key.
TEST(SendQueue, MatchesTheModelUnderRandomChurn) {
    constexpr uint32_t kSlots = 2'000;
    SendQueue q(kSlots, kPayload);
    struct Entry {
        uint32_t remaining;
        uint64_t key;
        uint64_t lane_seq;
    };
    std::map<uint32_t, Entry> model;
    std::mt19937 rng(7);
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
    for (int step = 0; step < 60'000; ++step) {
        uint32_t op = rng() % 10;
        if (op < 4) {
            uint32_t i = rng() % kSlots;
            if (model.count(i)) continue;
            uint32_t rem = rng() % 4 == 0 ? 1 + rng() % 50'000 : 1 + rng() % (kPayload + 100);
            Entry e{rem, key(rem, ++age), ++seq};
            model[i] = e;
            q.push(i, rem, e.key);
        } else if (op < 6 && !model.empty()) {
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
    }
    while (!model.empty()) {
        uint32_t t = q.top();
        ASSERT_EQ(t, expected_top());
        q.erase(t);
        model.erase(t);
    }
    EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace homa::detail
