// BpagePool without EAL (anonymous mmap backing): layout of offsets, shared tails, lease
// takeover, exhaustion and recovery, and random traffic checked against a reference model.
#include "homa/mem/bpage_pool.h"

#include <gtest/gtest.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace homa::mem {
namespace {

struct FakeClock {
    uint64_t now = 0;
    static uint64_t read(void *ctx) { return static_cast<FakeClock *>(ctx)->now; }
};

std::unique_ptr<BpagePool> make_pool(uint32_t bpages, unsigned caches, unsigned cache_bpages,
                                     FakeClock *clock, uint64_t lease = 1000) {
    PoolConfig cfg;
    cfg.bytes = size_t{bpages} * kBpageSize;
    cfg.backing = PoolConfig::Backing::kAnonMmap;
    cfg.num_caches = caches;
    cfg.cache_bpages = cache_bpages;
    cfg.lease_cycles = lease;
    cfg.clock = &FakeClock::read;
    cfg.clock_ctx = clock;
    std::string err;
    auto pool = BpagePool::create(cfg, &err);
    EXPECT_NE(pool, nullptr) << err;
    return pool;
}

TEST(BpagesNeeded, RoundsUpToWholeBpages) {
    EXPECT_EQ(BpagePool::bpages_needed(1), 1u);
    EXPECT_EQ(BpagePool::bpages_needed(65536), 1u);
    EXPECT_EQ(BpagePool::bpages_needed(65537), 2u);
    EXPECT_EQ(BpagePool::bpages_needed(kMaxMessageLength), 16u);
    EXPECT_EQ(kMaxMessageBpages, 16u);
}

TEST(Create, RejectsBadConfig) {
    PoolConfig cfg;
    cfg.backing = PoolConfig::Backing::kAnonMmap;
    std::string err;
    cfg.bytes = kBpageSize - 1;
    EXPECT_EQ(BpagePool::create(cfg, &err), nullptr);
    EXPECT_NE(err.find("bpage"), std::string::npos) << err;
    cfg.bytes = kBpageSize;
    cfg.num_caches = 0;
    EXPECT_EQ(BpagePool::create(cfg, &err), nullptr);
    cfg.num_caches = 1;
    cfg.cache_bpages = 0;
    EXPECT_EQ(BpagePool::create(cfg, &err), nullptr);
}

TEST(Create, EalBackingWithoutEalFails) {
    PoolConfig cfg;
    cfg.backing = PoolConfig::Backing::kEal;
    std::string err;
    EXPECT_EQ(BpagePool::create(cfg, &err), nullptr);
    EXPECT_NE(err.find("rte_eal_init"), std::string::npos) << err;
}

TEST(Create, AnonymousBackingRoundsDownAndHasNoIova) {
    PoolConfig cfg;
    cfg.bytes = 3 * kBpageSize + 100;
    cfg.backing = PoolConfig::Backing::kAnonMmap;
    auto pool = BpagePool::create(cfg, nullptr);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->backing(), PoolConfig::Backing::kAnonMmap);
    EXPECT_EQ(pool->size_bytes(), 3u * kBpageSize);
    EXPECT_EQ(pool->total_bpages(), 3u);
    EXPECT_EQ(pool->free_bpages(), 3u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(pool->base()) % 4096, 0u);
    EXPECT_EQ(pool->iova(0), kBadIova);
    pool->base()[pool->size_bytes() - 1] = 1;  // the whole range is writable
}

TEST(Create, AutoWithoutEalUsesMmap) {
    PoolConfig cfg;
    cfg.bytes = 2u << 20;
    auto pool = BpagePool::create(cfg, nullptr);
    ASSERT_NE(pool, nullptr);
    EXPECT_TRUE(pool->backing() == PoolConfig::Backing::kHugeMmap ||
                pool->backing() == PoolConfig::Backing::kAnonMmap);
}

// Tail allocations skip the full fence only where the kernel offers membarrier's private
// expedited command (Linux 4.14+); the test asks the kernel itself what to expect.
TEST(Create, UsesMembarrierWhereTheKernelHasIt) {
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0u, 0);
    bool offered = cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0;
    PoolConfig cfg;
    cfg.bytes = 4 * kBpageSize;
    auto pool = BpagePool::create(cfg, nullptr);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->uses_membarrier(), offered);
    cfg.full_fence = true;
    auto fenced = BpagePool::create(cfg, nullptr);
    ASSERT_NE(fenced, nullptr);
    EXPECT_FALSE(fenced->uses_membarrier());
}

TEST(Create, HugeMmapBackingIsHugePageAlignedOrFailsCleanly) {
    PoolConfig cfg;
    cfg.bytes = 4 * kBpageSize;
    cfg.backing = PoolConfig::Backing::kHugeMmap;
    std::string err;
    auto pool = BpagePool::create(cfg, &err);
    if (pool == nullptr) {  // no free 2 MiB pages on this machine
        EXPECT_NE(err.find("MAP_HUGETLB"), std::string::npos) << err;
        return;
    }
    EXPECT_EQ(pool->backing(), PoolConfig::Backing::kHugeMmap);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(pool->base()) % (2u << 20), 0u);
    EXPECT_EQ(pool->size_bytes(), 4u * kBpageSize);
    EXPECT_EQ(pool->iova(0), kBadIova);
}

TEST(AllocMessage, RejectsBadLengthAndCache) {
    FakeClock clock;
    auto pool = make_pool(4, 2, 4, &clock);
    uint32_t off[kMaxMessageBpages];
    EXPECT_EQ(pool->alloc_message(0, 0, off), -EINVAL);
    EXPECT_EQ(pool->alloc_message(kMaxMessageLength + 1, 0, off), -EINVAL);
    EXPECT_EQ(pool->alloc_message(100, 2, off), -EINVAL);
    EXPECT_EQ(pool->free_bpages(), 4u);
    EXPECT_EQ(pool->counters().alloc_failures, 0u);
}

TEST(AllocMessage, WholeBpagesThenTail) {
    FakeClock clock;
    auto pool = make_pool(8, 1, 4, &clock);
    uint32_t off[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(3 * kBpageSize + 3392, 0, off), 4);
    std::set<uint32_t> pages;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(off[i] % kBpageSize, 0u) << i;
        pages.insert(off[i] / kBpageSize);
    }
    pages.insert(off[3] / kBpageSize);
    EXPECT_EQ(pages.size(), 4u);  // four distinct bpages
    EXPECT_LE(off[3] % kBpageSize + 3392, kBpageSize);
    EXPECT_EQ(pool->free_bpages(), 4u);
    // An exact multiple of 64 KiB has no tail.
    ASSERT_EQ(pool->alloc_message(2 * kBpageSize, 0, off), 2);
    EXPECT_EQ(pool->free_bpages(), 2u);
}

TEST(AllocMessage, MaximumMessageUsesSixteenOffsets) {
    FakeClock clock;
    auto pool = make_pool(16, 1, 4, &clock);
    uint32_t off[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(kMaxMessageLength, 0, off), 16);
    EXPECT_EQ(pool->free_bpages(), 0u);
    pool->release(off, 16, 0);
    ASSERT_EQ(pool->flush_cache(0), 0);
    EXPECT_EQ(pool->free_bpages(), 16u);
}

TEST(AllocMessage, TailsShareTheCachesBpage) {
    FakeClock clock;
    auto pool = make_pool(4, 1, 4, &clock);
    uint32_t a[kMaxMessageBpages], b[kMaxMessageBpages], c[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(100, 0, a), 1);
    ASSERT_EQ(pool->alloc_message(100, 0, b), 1);
    EXPECT_EQ(a[0] / kBpageSize, b[0] / kBpageSize);
    EXPECT_EQ(b[0], a[0] + 128);  // tails start on 64-byte boundaries
    EXPECT_EQ(pool->free_bpages(), 3u);
    // A tail that does not fit in what is left retires the bpage and starts another.
    ASSERT_EQ(pool->alloc_message(65400, 0, c), 1);  // 256 + 65400 > 65536
    EXPECT_NE(c[0] / kBpageSize, a[0] / kBpageSize);
    EXPECT_EQ(pool->free_bpages(), 2u);
    // The retired bpage becomes free when its last tail comes back.
    uint64_t gen = pool->release_generation();
    pool->release(a, 1, 0);
    EXPECT_EQ(pool->free_bpages(), 2u);
    pool->release(b, 1, 0);
    EXPECT_EQ(pool->free_bpages(), 3u);
    EXPECT_GT(pool->release_generation(), gen);
}

TEST(AllocMessage, EmptyTailBpageIsReused) {
    FakeClock clock;
    auto pool = make_pool(4, 1, 4, &clock);
    uint32_t a[kMaxMessageBpages], b[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(40000, 0, a), 1);
    pool->release(a, 1, 0);
    ASSERT_EQ(pool->alloc_message(40000, 0, b), 1);
    EXPECT_EQ(b[0], a[0]);  // all tails were back: the bpage starts over
    EXPECT_EQ(pool->free_bpages(), 3u);
}

TEST(Release, RemoteReleaseFreesRetiredBpage) {
    FakeClock clock;
    auto pool = make_pool(4, 2, 4, &clock);
    uint32_t a[kMaxMessageBpages], b[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(40000, 0, a), 1);
    ASSERT_EQ(pool->alloc_message(40000, 0, b), 1);  // retires a's bpage (a still live)
    ASSERT_NE(a[0] / kBpageSize, b[0] / kBpageSize);
    EXPECT_EQ(pool->free_bpages(), 2u);
    pool->release(a, 1, 1);  // another cache gives the last tail back
    EXPECT_EQ(pool->free_bpages(), 3u);
    EXPECT_EQ(pool->counters().caches[1].bpages_freed, 1u);
    pool->release(b, 1, 1);  // cache 0 still owns b's bpage: it stays in use
    EXPECT_EQ(pool->free_bpages(), 3u);
    ASSERT_EQ(pool->flush_cache(0), 0);
    EXPECT_EQ(pool->free_bpages(), 4u);
}

TEST(AllocMessage, ExhaustionIsAllOrNothingAndRecovers) {
    FakeClock clock;
    auto pool = make_pool(4, 1, 2, &clock);
    uint32_t a[kMaxMessageBpages], b[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(3 * kBpageSize, 0, a), 3);
    EXPECT_EQ(pool->alloc_message(2 * kBpageSize, 0, b), -ENOMEM);
    EXPECT_EQ(pool->free_bpages(), 1u);  // nothing was taken by the failed call
    EXPECT_EQ(pool->counters().alloc_failures, 1u);
    EXPECT_EQ(pool->counters().caches[0].alloc_failures, 1u);
    EXPECT_EQ(BpagePool::bpages_needed(2 * kBpageSize), 2u);
    uint64_t gen = pool->release_generation();
    pool->release(a, 3, 0);
    EXPECT_EQ(pool->release_generation(), gen + 3);
    EXPECT_EQ(pool->free_bpages(), 4u);
    ASSERT_EQ(pool->alloc_message(2 * kBpageSize, 0, b), 2);
}

TEST(AllocMessage, FailureReturnsStashToOtherCaches) {
    FakeClock clock;
    auto pool = make_pool(4, 2, 8, &clock);
    uint32_t a[kMaxMessageBpages], b[kMaxMessageBpages];
    // Cache 0 pulls all four bpages into its stash, then fails on five.
    ASSERT_EQ(pool->alloc_message(kBpageSize, 0, a), 1);
    pool->release(a, 1, 0);
    EXPECT_EQ(pool->alloc_message(5 * kBpageSize, 0, b), -ENOMEM);
    // Cache 1 can now have all of them.
    ASSERT_EQ(pool->alloc_message(4 * kBpageSize, 1, b), 4);
}

TEST(AllocMessage, ExpiredLeaseIsTakenOver) {
    FakeClock clock;
    auto pool = make_pool(2, 2, 1, &clock, 1000);
    uint32_t t0[kMaxMessageBpages], w1[kMaxMessageBpages], t1[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(100, 0, t0), 1);
    const uint32_t leased = t0[0] / kBpageSize;
    pool->release(t0, 1, 0);  // no live tail, but cache 0 keeps the bpage under its lease
    ASSERT_EQ(pool->alloc_message(kBpageSize, 1, w1), 1);
    EXPECT_EQ(pool->free_bpages(), 0u);
    clock.now = 1000;  // lease not yet expired
    EXPECT_EQ(pool->alloc_message(100, 1, t1), -ENOMEM);
    clock.now = 1001;
    ASSERT_EQ(pool->alloc_message(100, 1, t1), 1);
    EXPECT_EQ(t1[0] / kBpageSize, leased);
    PoolCounters c = pool->counters();
    EXPECT_EQ(c.leases_taken_over, 1u);
    EXPECT_EQ(c.caches[1].leases_taken_over, 1u);
    EXPECT_EQ(c.caches[1].tail_bpage, static_cast<int64_t>(leased));
    // Cache 0 lost the bpage: it must not carve from it any more.
    uint32_t t2[kMaxMessageBpages];
    EXPECT_EQ(pool->alloc_message(100, 0, t2), -ENOMEM);
    EXPECT_EQ(pool->counters().caches[0].tail_bpage, -1);
}

TEST(FlushCache, LeavesATakenOverBpageToItsNewOwner) {
    FakeClock clock;
    auto pool = make_pool(2, 2, 1, &clock, 1000);
    uint32_t t0[kMaxMessageBpages], w1[kMaxMessageBpages], t1[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(100, 0, t0), 1);
    pool->release(t0, 1, 0);
    ASSERT_EQ(pool->alloc_message(kBpageSize, 1, w1), 1);
    clock.now = 2000;
    ASSERT_EQ(pool->alloc_message(100, 1, t1), 1);  // takes cache 0's bpage over
    ASSERT_EQ(pool->flush_cache(0), 0);             // cache 0 has not noticed yet
    EXPECT_EQ(pool->counters().caches[1].tail_bpage, t1[0] / kBpageSize);
    uint32_t t2[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(100, 1, t2), 1);  // still cache 1's: carved next to t1
    EXPECT_EQ(t2[0], t1[0] + 128);
    EXPECT_EQ(pool->free_bpages(), 0u);
}

TEST(AllocMessage, LeaseWithLiveTailsIsNotTakenOver) {
    FakeClock clock;
    auto pool = make_pool(2, 2, 1, &clock, 1000);
    uint32_t t0[kMaxMessageBpages], w1[kMaxMessageBpages], t1[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(100, 0, t0), 1);
    ASSERT_EQ(pool->alloc_message(kBpageSize, 1, w1), 1);
    clock.now = 5000;
    EXPECT_EQ(pool->alloc_message(100, 1, t1), -ENOMEM);
    EXPECT_EQ(pool->counters().leases_taken_over, 0u);
}

TEST(AllocMessage, OwnerRenewsItsLease) {
    FakeClock clock;
    auto pool = make_pool(2, 2, 1, &clock, 1000);
    uint32_t t0[kMaxMessageBpages], w1[kMaxMessageBpages], t1[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(100, 0, t0), 1);
    ASSERT_EQ(pool->alloc_message(kBpageSize, 1, w1), 1);
    pool->release(t0, 1, 0);
    clock.now = 900;  // less than half the lease left: renewal to 1900
    ASSERT_EQ(pool->alloc_message(100, 0, t0), 1);
    pool->release(t0, 1, 0);
    clock.now = 1500;
    EXPECT_EQ(pool->alloc_message(100, 1, t1), -ENOMEM);
    clock.now = 1901;
    EXPECT_EQ(pool->alloc_message(100, 1, t1), 1);
}

TEST(AllocMessage, CallerTicksDriveTheLease) {
    PoolConfig cfg;
    cfg.bytes = 2 * kBpageSize;
    cfg.backing = PoolConfig::Backing::kAnonMmap;
    cfg.num_caches = 2;
    cfg.cache_bpages = 1;
    cfg.lease_cycles = 1000;
    cfg.caller_ticks = true;
    auto pool = BpagePool::create(cfg, nullptr);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->tick(2, 0), -EINVAL);
    uint32_t t0[kMaxMessageBpages], w1[kMaxMessageBpages], t1[kMaxMessageBpages];
    ASSERT_EQ(pool->tick(0, 5000), 0);
    ASSERT_EQ(pool->alloc_message(100, 0, t0), 1);  // lease until 6000
    pool->release(t0, 1, 0);
    ASSERT_EQ(pool->alloc_message(kBpageSize, 1, w1), 1);
    ASSERT_EQ(pool->tick(1, 6000), 0);
    EXPECT_EQ(pool->alloc_message(100, 1, t1), -ENOMEM);
    ASSERT_EQ(pool->tick(1, 6001), 0);
    EXPECT_EQ(pool->alloc_message(100, 1, t1), 1);
    EXPECT_EQ(pool->counters().leases_taken_over, 1u);
}

TEST(Contains, OnlyRangesInsideThePool) {
    FakeClock clock;
    auto pool = make_pool(2, 1, 1, &clock);
    uint8_t *b = pool->base();
    EXPECT_TRUE(pool->contains(b, pool->size_bytes()));
    EXPECT_TRUE(pool->contains(b + 100, 10));
    EXPECT_FALSE(pool->contains(b + 1, pool->size_bytes()));
    EXPECT_FALSE(pool->contains(b - 1, 2));
    EXPECT_FALSE(pool->contains(b + 10, SIZE_MAX));
}

TEST(FlushCache, RejectsBadCache) {
    FakeClock clock;
    auto pool = make_pool(2, 1, 1, &clock);
    EXPECT_EQ(pool->flush_cache(1), -EINVAL);
}

// Random traffic on three caches against a model: every live message's byte ranges lie in
// the pool and overlap no other's (its bytes keep their fill pattern), and the free count
// equals total minus the bpages in use (live messages plus the caches' tail bpages).
TEST(AllocMessage, RandomTrafficMatchesModel) {
    FakeClock clock;
    constexpr unsigned kCaches = 3;
    auto pool = make_pool(96, kCaches, 4, &clock, 1u << 30);
    struct Msg {
        uint32_t length;
        int count;
        uint32_t off[kMaxMessageBpages];
        uint8_t fill;
    };
    std::map<uint64_t, Msg> live;
    std::mt19937_64 rng(42);
    uint64_t next_id = 1, failures = 0;

    auto ranges_of = [](const Msg &m, auto &&fn) {
        for (int i = 0; i < m.count; ++i) {
            uint32_t len = std::min<uint32_t>(kBpageSize, m.length - i * kBpageSize);
            fn(m.off[i], len);
        }
    };
    auto check_model = [&] {
        std::map<uint32_t, uint32_t> spans;  // start -> end
        std::set<uint32_t> used_pages;
        for (auto &[id, m] : live) {
            ranges_of(m, [&](uint32_t off, uint32_t len) {
                ASSERT_LE(uint64_t{off} + len, pool->size_bytes());
                ASSERT_EQ(off / kBpageSize, (off + len - 1) / kBpageSize) << "crosses a bpage";
                spans[off] = off + len;
                used_pages.insert(off / kBpageSize);
            });
        }
        uint32_t prev_end = 0;
        for (auto &[start, end] : spans) {
            ASSERT_GE(start, prev_end) << "two live messages overlap";
            prev_end = end;
        }
        for (auto &c : pool->counters().caches) {
            if (c.tail_bpage >= 0) used_pages.insert(static_cast<uint32_t>(c.tail_bpage));
        }
        ASSERT_EQ(pool->free_bpages(), pool->total_bpages() - used_pages.size());
    };

    for (int step = 0; step < 4000; ++step) {
        unsigned cache = rng() % kCaches;
        clock.now += rng() % 10;
        if (live.empty() || rng() % 100 < 55) {
            uint32_t length;
            switch (rng() % 3) {
                case 0: length = 1 + rng() % 2000; break;
                case 1: length = 1 + rng() % 150000; break;
                default: length = 1 + rng() % kMaxMessageLength; break;
            }
            Msg m{length, 0, {}, static_cast<uint8_t>(next_id)};
            uint32_t free_before = pool->free_bpages();
            m.count = pool->alloc_message(length, cache, m.off);
            if (m.count == -ENOMEM) {
                ++failures;
                ASSERT_EQ(pool->free_bpages(), free_before) << "failed call changed the pool";
                continue;
            }
            ASSERT_EQ(m.count, static_cast<int>(BpagePool::bpages_needed(length)));
            ranges_of(m,
                      [&](uint32_t off, uint32_t len) { memset(pool->base() + off, m.fill, len); });
            live[next_id++] = m;
        } else {
            auto it = live.begin();
            std::advance(it, rng() % live.size());
            const Msg &m = it->second;
            ranges_of(m, [&](uint32_t off, uint32_t len) {
                const uint8_t *p = pool->base() + off;
                ASSERT_TRUE(p[0] == m.fill && p[len / 2] == m.fill && p[len - 1] == m.fill)
                    << "message bytes overwritten by another message";
            });
            pool->release(m.off, static_cast<uint32_t>(m.count), cache);
            live.erase(it);
        }
        if (step % 50 == 0) check_model();
    }
    check_model();
    EXPECT_GT(failures, 0u) << "the test should exercise exhaustion";
    EXPECT_EQ(pool->counters().alloc_failures, failures);
    for (auto &[id, m] : live) pool->release(m.off, static_cast<uint32_t>(m.count), 0);
    for (unsigned c = 0; c < kCaches; ++c) ASSERT_EQ(pool->flush_cache(c), 0);
    PoolCounters c = pool->counters();
    EXPECT_EQ(c.free_bpages, c.total_bpages);
    EXPECT_EQ(c.in_use_bpages, 0u);
    uint64_t allocated = 0, released = 0;
    for (auto &cc : c.caches) {
        allocated += cc.messages_allocated;
        released += cc.messages_released;
    }
    EXPECT_EQ(allocated, released);
}

// prefetch_carve is a hint: with no tail yet, with a tail, and for a cache that does not exist
// it changes nothing, and the next carve comes from the same place as without it.
TEST(PrefetchCarve, IsOnlyAHint) {
    FakeClock clock;
    auto pool = make_pool(8, 2, 2, &clock);
    pool->prefetch_carve(0);  // no tail bpage yet
    pool->prefetch_carve(7);  // no such cache
    uint32_t a[kMaxMessageBpages], b[kMaxMessageBpages];
    ASSERT_EQ(pool->alloc_message(100, 0, a), 1);
    const auto before = pool->counters();
    pool->prefetch_carve(0);
    const auto after = pool->counters();
    EXPECT_EQ(after.free_bpages, before.free_bpages);
    EXPECT_EQ(after.caches[0].tail_bpage, before.caches[0].tail_bpage);
    EXPECT_EQ(after.caches[0].messages_allocated, before.caches[0].messages_allocated);
    ASSERT_EQ(pool->alloc_message(100, 0, b), 1);
    EXPECT_EQ(b[0], a[0] + 128);  // the next 64-byte-aligned carve of the same tail
    pool->release(a, 1, 0);
    pool->release(b, 1, 0);
}

}  // namespace
}  // namespace homa::mem
