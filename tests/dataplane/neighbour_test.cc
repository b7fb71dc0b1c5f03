// The neighbour cache alone (no EAL): resolution with held frames, learning, probes and
// failure, static entries, eviction. Frames are fake pointers; the cache never touches them.
#include "homa/dataplane/neighbour.h"

#include <gtest/gtest.h>

#include <vector>

namespace homa::dp {
namespace {

constexpr uint32_t kIp = 0x0A000002;
constexpr MacAddr kMac = {2, 0, 0, 0, 0, 2};
constexpr uint64_t kMs = 1'000'000;

void *frame(uintptr_t i) { return reinterpret_cast<void *>(i * 16); }

struct Log {
    std::vector<uint32_t> probes;
    std::vector<void *> dropped;
    std::vector<void *> released;
    uint32_t poll(NeighbourCache &c, uint64_t now) {
        return c.poll(
            now, [&](uint32_t ip) { probes.push_back(ip); },
            [&](void *f) { dropped.push_back(f); });
    }
    bool learn(NeighbourCache &c, uint32_t ip, const MacAddr &mac, uint64_t now, bool create) {
        return c.learn(ip, mac, now, create, [&](void *f, const MacAddr &m) {
            EXPECT_EQ(m, mac);
            released.push_back(f);
        });
    }
};

NeighbourConfig small() {
    NeighbourConfig c;
    c.capacity = 4;
    c.hold_frames = 8;
    c.hold_per_address = 3;
    c.probe_interval_ns = 10 * kMs;
    c.max_probes = 3;
    c.reachable_ns = 1000 * kMs;
    c.failed_hold_ns = 100 * kMs;
    return c;
}

TEST(NeighbourCache, Resolve_UnknownHoldsFrameAndAsksForOneProbe) {
    NeighbourCache c(small());
    MacAddr mac{};
    EXPECT_EQ(c.resolve(kIp, frame(1), 0, &mac), NeighbourResult::kHoldAndProbe);
    EXPECT_EQ(c.resolve(kIp, frame(2), 1, &mac), NeighbourResult::kHold);
    EXPECT_EQ(c.state(kIp), NeighbourCache::State::kIncomplete);
    EXPECT_EQ(c.held(kIp), 2u);
    EXPECT_EQ(c.stats().resolutions, 1u);
    EXPECT_EQ(c.stats().probes, 1u);
    EXPECT_EQ(c.stats().held, 2u);
}

TEST(NeighbourCache, Resolve_HoldQueueFullDrops) {
    NeighbourCache c(small());
    MacAddr mac;
    for (uintptr_t i = 1; i <= 3; ++i)
        EXPECT_NE(c.resolve(kIp, frame(i), 0, &mac), NeighbourResult::kDrop);
    EXPECT_EQ(c.resolve(kIp, frame(4), 0, &mac), NeighbourResult::kDrop);  // per address
    // Other addresses share the rest of the 8 hold slots.
    for (uintptr_t i = 0; i < 5; ++i) {
        EXPECT_NE(c.resolve(kIp + 1 + static_cast<uint32_t>(i / 3), frame(10 + i), 0, &mac),
                  NeighbourResult::kDrop);
    }
    EXPECT_EQ(c.resolve(kIp + 3, frame(20), 0, &mac), NeighbourResult::kDrop);  // all slots
    EXPECT_EQ(c.stats().dropped_hold_full, 2u);
}

TEST(NeighbourCache, Learn_ReleasesHeldFramesInOrderAndResolves) {
    NeighbourCache c(small());
    Log log;
    MacAddr mac;
    c.resolve(kIp, frame(1), 0, &mac);
    c.resolve(kIp + 1, frame(9), 0, &mac);  // another address: stays held
    c.resolve(kIp, frame(2), 0, &mac);
    c.resolve(kIp, frame(3), 0, &mac);
    EXPECT_TRUE(log.learn(c, kIp, kMac, 5 * kMs, false));
    EXPECT_EQ(log.released, (std::vector<void *>{frame(1), frame(2), frame(3)}));
    EXPECT_EQ(c.held(kIp + 1), 1u);
    EXPECT_EQ(c.resolve(kIp, frame(4), 6 * kMs, &mac), NeighbourResult::kSend);
    EXPECT_EQ(mac, kMac);
    EXPECT_EQ(c.stats().resolved, 1u);
    EXPECT_EQ(c.stats().released, 3u);
    EXPECT_EQ(c.stats().hits, 1u);
}

TEST(NeighbourCache, Learn_CreatesOnlyWhenAsked) {
    NeighbourCache c(small());
    Log log;
    EXPECT_FALSE(log.learn(c, kIp, kMac, 0, false));  // e.g. a reply we did not ask for
    EXPECT_EQ(c.state(kIp), NeighbourCache::State::kFree);
    EXPECT_TRUE(log.learn(c, kIp, kMac, 0, true));  // a request addressed to us
    MacAddr mac;
    EXPECT_EQ(c.state(kIp, &mac), NeighbourCache::State::kReachable);
    EXPECT_EQ(mac, kMac);
    EXPECT_FALSE(log.learn(c, 0, kMac, 0, true));  // 0.0.0.0 is never learned
}

TEST(NeighbourCache, AddStatic_NeverChangedByArp) {
    NeighbourCache c(small());
    Log log;
    ASSERT_TRUE(c.add_static(kIp, kMac));
    EXPECT_FALSE(log.learn(c, kIp, MacAddr{9, 9, 9, 9, 9, 9}, 0, true));
    MacAddr mac;
    EXPECT_EQ(c.resolve(kIp, frame(1), 0, &mac), NeighbourResult::kSend);
    EXPECT_EQ(mac, kMac);
    EXPECT_EQ(log.poll(c, 1'000'000 * kMs), 0u);  // static entries have no timers
}

TEST(NeighbourCache, Poll_RetriesThenFailsAndDropsHeld) {
    NeighbourCache c(small());
    Log log;
    MacAddr mac;
    c.resolve(kIp, frame(1), 0, &mac);
    c.resolve(kIp, frame(2), 0, &mac);
    EXPECT_EQ(log.poll(c, 9 * kMs), 0u);  // not due yet
    EXPECT_EQ(log.poll(c, 10 * kMs), 1u);
    EXPECT_EQ(log.poll(c, 20 * kMs), 1u);
    EXPECT_EQ(log.probes, (std::vector<uint32_t>{kIp, kIp}));  // probes 2 and 3
    EXPECT_EQ(log.poll(c, 30 * kMs), 2u);                      // third unanswered: give up
    EXPECT_EQ(log.dropped, (std::vector<void *>{frame(1), frame(2)}));
    EXPECT_EQ(c.state(kIp), NeighbourCache::State::kFailed);
    EXPECT_EQ(c.stats().failed, 1u);
    EXPECT_EQ(c.stats().probes, 3u);
    // While failed, frames are dropped at once; afterwards resolution starts over.
    EXPECT_EQ(c.resolve(kIp, frame(3), 50 * kMs, &mac), NeighbourResult::kDrop);
    EXPECT_EQ(c.resolve(kIp, frame(4), 130 * kMs, &mac), NeighbourResult::kHoldAndProbe);
    EXPECT_EQ(c.stats().dropped_failed, 3u);
}

TEST(NeighbourCache, Poll_OldEntryIsReprobedAndStaysUsable) {
    NeighbourCache c(small());
    Log log;
    MacAddr mac;
    log.learn(c, kIp, kMac, 0, true);
    EXPECT_EQ(log.poll(c, 999 * kMs), 0u);
    EXPECT_EQ(log.poll(c, 1000 * kMs), 1u);
    EXPECT_EQ(log.probes, std::vector<uint32_t>{kIp});
    EXPECT_EQ(c.resolve(kIp, frame(1), 1001 * kMs, &mac), NeighbourResult::kSend);
    // An answer renews it: no more probes until it is old again.
    log.learn(c, kIp, kMac, 1005 * kMs, false);
    EXPECT_EQ(log.poll(c, 1100 * kMs), 0u);
    EXPECT_EQ(log.probes.size(), 1u);
}

TEST(NeighbourCache, Insert_FullTableReplacesOldestLearnedEntry) {
    NeighbourCache c(small());  // 4 entries
    Log log;
    MacAddr mac;
    ASSERT_TRUE(c.add_static(1, kMac));
    log.learn(c, 2, kMac, 30, true);
    log.learn(c, 3, kMac, 10, true);  // oldest proof
    log.learn(c, 4, kMac, 20, true);
    EXPECT_EQ(c.resolve(5, frame(1), 40, &mac), NeighbourResult::kHoldAndProbe);
    EXPECT_EQ(c.state(3), NeighbourCache::State::kFree);
    EXPECT_EQ(c.state(1), NeighbourCache::State::kStatic);
    EXPECT_EQ(c.state(2), NeighbourCache::State::kReachable);
    EXPECT_EQ(c.state(5), NeighbourCache::State::kIncomplete);
    // Every lookup still finds its entry with the table full.
    for (uint32_t ip : {1u, 2u, 4u})
        EXPECT_EQ(c.resolve(ip, frame(2), 41, &mac), NeighbourResult::kSend);
}

TEST(NeighbourCache, Insert_TableOfStaticAndResolvingEntriesDrops) {
    NeighbourCache c(small());
    MacAddr mac;
    for (uint32_t ip = 1; ip <= 2; ++ip) ASSERT_TRUE(c.add_static(ip, kMac));
    for (uint32_t ip = 3; ip <= 4; ++ip) c.resolve(ip, frame(ip), 0, &mac);
    EXPECT_EQ(c.resolve(5, frame(5), 0, &mac), NeighbourResult::kDrop);
    EXPECT_EQ(c.stats().dropped_table_full, 1u);
    EXPECT_FALSE(c.add_static(6, kMac));
}

TEST(NeighbourCache, ClearHeld_GivesEveryFrameBack) {
    NeighbourCache c(small());
    MacAddr mac;
    c.resolve(kIp, frame(1), 0, &mac);
    c.resolve(kIp + 1, frame(2), 0, &mac);
    std::vector<void *> got;
    c.clear_held([&](void *f) { got.push_back(f); });
    EXPECT_EQ(got, (std::vector<void *>{frame(1), frame(2)}));
    EXPECT_EQ(c.held(kIp), 0u);
}

// The IPv6 instantiation runs the same state machine; these check what differs: the key
// (16 bytes, compared whole), its hash (addresses of one /64 differ in the last bytes only),
// and that probes name the IPv6 address.
wire::Ipv6Addr v6(uint16_t iid) {
    return {0xfd,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            static_cast<uint8_t>(iid >> 8),
            static_cast<uint8_t>(iid)};
}

TEST(Neighbour6Cache, ResolveLearnRelease) {
    Neighbour6Cache c(small());
    std::vector<wire::Ipv6Addr> probes;
    std::vector<void *> released;
    MacAddr mac{};
    EXPECT_EQ(c.resolve(v6(2), frame(1), 0, &mac), NeighbourResult::kHoldAndProbe);
    EXPECT_EQ(c.resolve(v6(2), frame(2), 1, &mac), NeighbourResult::kHold);
    EXPECT_EQ(c.state(v6(3)), NeighbourState::kFree);  // a different last byte is another host
    c.poll(
        10 * kMs, [&](const wire::Ipv6Addr &a) { probes.push_back(a); }, [](void *) {});
    ASSERT_EQ(probes.size(), 1u);
    EXPECT_EQ(probes[0], v6(2));
    ASSERT_TRUE(c.learn(v6(2), kMac, 11 * kMs, false,
                        [&](void *f, const MacAddr &) { released.push_back(f); }));
    EXPECT_EQ(released, (std::vector<void *>{frame(1), frame(2)}));
    EXPECT_EQ(c.resolve(v6(2), frame(3), 12 * kMs, &mac), NeighbourResult::kSend);
    EXPECT_EQ(mac, kMac);
    EXPECT_FALSE(c.learn(wire::Ipv6Addr{}, kMac, 0, true, [](void *, const MacAddr &) {}));
}

TEST(Neighbour6Cache, OneSubnetFillsTheTableWithoutLosingEntries) {
    NeighbourConfig cfg;
    cfg.capacity = 256;
    Neighbour6Cache c(cfg);
    for (uint16_t i = 1; i <= 256; ++i) ASSERT_TRUE(c.add_static(v6(i), kMac));
    for (uint16_t i = 1; i <= 256; ++i) {
        MacAddr mac{};
        ASSERT_EQ(c.state(v6(i), &mac), NeighbourState::kStatic) << i;
    }
    EXPECT_EQ(c.state(v6(257)), NeighbourState::kFree);
    EXPECT_FALSE(c.add_static(v6(257), kMac));  // full of static entries
}

}  // namespace
}  // namespace homa::dp
