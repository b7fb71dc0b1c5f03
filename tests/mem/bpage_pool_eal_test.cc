// BpagePool on EAL memory (--no-huge --no-shconf, unique prefix; mem may not use dataplane's
// EAL helpers, so the arguments are built here): memzone backing with IOVAs, and two lcores
// allocating and releasing concurrently while messages travel between them on an rte_ring.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "homa/mem/bpage_pool.h"

namespace homa::mem {
namespace {

// Two lcores on the first two CPUs this process may use (both on one CPU if it has one).
std::string lcores_arg() {
    cpu_set_t set;
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
            if (CPU_ISSET(c, &set)) cpus.push_back(c);
        }
    }
    if (cpus.empty()) cpus.push_back(0);
    int second = cpus.size() > 1 ? cpus[1] : cpus[0];
    return "--lcores=0@" + std::to_string(cpus[0]) + ",1@" + std::to_string(second);
}

class EalEnvironment : public ::testing::Environment {
  public:
    void SetUp() override {
        std::vector<std::string> args = {"bpage_pool_eal_test",
                                         "--no-huge",
                                         "--no-shconf",
                                         "-m",
                                         "128",
                                         "--file-prefix=mem_pool_eal-" + std::to_string(getpid()),
                                         lcores_arg(),
                                         "--no-pci",
                                         "--log-level=lib.eal:error"};
        std::vector<char *> argv;
        for (auto &a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ASSERT_GE(rte_eal_init(static_cast<int>(args.size()), argv.data()), 0);
    }
    void TearDown() override { rte_eal_cleanup(); }
};

// Every message carries its id in the first and last 8 bytes of each of its ranges; a range
// that another message also owns loses its pattern.
struct Msg {
    uint64_t id;
    uint32_t length;
    uint32_t count;
    uint32_t off[kMaxMessageBpages];
};
static_assert(sizeof(Msg) % 4 == 0, "rte_ring element size must be a multiple of 4");

void for_each_range(const Msg &m, auto &&fn) {
    for (uint32_t i = 0; i < m.count; ++i) {
        fn(m.off[i], std::min<uint32_t>(kBpageSize, m.length - i * kBpageSize));
    }
}

void stamp(BpagePool &pool, const Msg &m) {
    for_each_range(m, [&](uint32_t off, uint32_t len) {
        uint64_t v = m.id;
        memcpy(pool.base() + off, &v, std::min<uint32_t>(8, len));
        if (len >= 16) memcpy(pool.base() + off + len - 8, &v, 8);
    });
}

bool stamped(BpagePool &pool, const Msg &m) {
    bool ok = true;
    for_each_range(m, [&](uint32_t off, uint32_t len) {
        uint64_t a = 0, b = m.id;
        memcpy(&a, pool.base() + off, std::min<uint32_t>(8, len));
        if (len >= 16) memcpy(&b, pool.base() + off + len - 8, 8);
        uint64_t want = len >= 8 ? m.id : m.id & ((uint64_t{1} << (8 * len)) - 1);
        ok = ok && a == want && b == m.id;
    });
    return ok;
}

uint32_t random_length(std::mt19937_64 &rng) {
    switch (rng() % 4) {
        case 0: return 1 + rng() % 1000;
        case 1: return 1 + rng() % 20000;
        case 2: return 1 + rng() % 200000;
        default: return 1 + rng() % kMaxMessageLength;
    }
}

TEST(Create, EalBackingIsAMemzoneWithIovas) {
    PoolConfig cfg;
    cfg.bytes = 4 * kBpageSize;
    std::string err;
    auto pool = BpagePool::create(cfg, &err);  // kAuto picks EAL once it is up
    ASSERT_NE(pool, nullptr) << err;
    EXPECT_EQ(pool->backing(), PoolConfig::Backing::kEal);
    EXPECT_EQ(pool->total_bpages(), 4u);
    RecordProperty("iova_mode", rte_eal_iova_mode() == RTE_IOVA_VA ? "va" : "pa");
    unsigned known = 0;
    for (uint32_t i = 0; i < 4; ++i) {
        uint32_t off = i * kBpageSize + 123;
        uint64_t iova = pool->iova(off);
        if (iova != kBadIova) {
            ++known;
            EXPECT_EQ(iova, rte_mem_virt2iova(pool->base() + off));
            EXPECT_EQ(pool->iova(i * kBpageSize + kBpageSize - 1), iova + kBpageSize - 1 - 123);
        }
    }
    // In IOVA-as-VA mode (what --no-huge gives without root) every bpage has one.
    if (rte_eal_iova_mode() == RTE_IOVA_VA) { EXPECT_EQ(known, 4u); }
    EXPECT_EQ(pool->iova(static_cast<uint32_t>(pool->size_bytes())), kBadIova);
}

struct Shared {
    BpagePool *pool;
    rte_ring *ring;
    unsigned count;
    std::atomic<uint64_t> sent{0}, enomem{0}, corrupt{0};
};

// Lcore 1, cache 1: allocates messages; sends two of three over the ring and frees the third
// itself.
int producer(void *arg) {
    auto &s = *static_cast<Shared *>(arg);
    std::mt19937_64 rng(rte_lcore_id());
    for (unsigned i = 0; i < s.count; ++i) {
        Msg m{(uint64_t{1} << 40) + i, random_length(rng), 0, {}};
        int n;
        while ((n = s.pool->alloc_message(m.length, 1, m.off)) == -ENOMEM) {
            s.enomem.fetch_add(1);
            rte_pause();
            sched_yield();  // the consumer may share our CPU
        }
        if (n < 0) return n;
        m.count = static_cast<uint32_t>(n);
        stamp(*s.pool, m);
        if (i % 3 == 2) {
            if (!stamped(*s.pool, m)) s.corrupt.fetch_add(1);
            s.pool->release(m.off, m.count, 1);
            continue;
        }
        while (rte_ring_sp_enqueue_elem(s.ring, &m, sizeof(m)) != 0) sched_yield();
        s.sent.fetch_add(1);
    }
    return 0;
}

// Returns the leases taken over during the run.
uint64_t run_handoff(uint64_t lease_cycles, const char *ring_name, bool full_fence = false) {
    EXPECT_GE(rte_lcore_count(), 2u);
    PoolConfig cfg;
    cfg.bytes = 64 * kBpageSize;
    cfg.backing = PoolConfig::Backing::kEal;
    cfg.num_caches = 2;
    cfg.cache_bpages = 4;
    if (lease_cycles) cfg.lease_cycles = lease_cycles;
    cfg.full_fence = full_fence;
    std::string err;
    auto pool = BpagePool::create(cfg, &err);
    EXPECT_NE(pool, nullptr) << err;
    if (!pool) return 0;
    if (full_fence) { EXPECT_FALSE(pool->uses_membarrier()); }
    rte_ring *ring = rte_ring_create_elem(ring_name, sizeof(Msg), 64, SOCKET_ID_ANY,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    EXPECT_NE(ring, nullptr);
    if (!ring) return 0;
    Shared s{pool.get(), ring, 20000};
    unsigned worker = rte_get_next_lcore(-1, 1, 0);
    EXPECT_EQ(rte_eal_remote_launch(producer, &s, worker), 0);

    // Main lcore, cache 0: receives, checks and frees the producer's messages (remote
    // releases of cache 1's tails), and allocates and frees messages of its own in between.
    std::mt19937_64 rng(99);
    uint64_t received = 0, own = 0;
    std::vector<Msg> held;
    bool producer_done = false;
    while (true) {
        Msg m;
        if (rte_ring_sc_dequeue_elem(ring, &m, sizeof(m)) == 0) {
            ++received;
            if (!stamped(*pool, m)) s.corrupt.fetch_add(1);
            held.push_back(m);
            if (held.size() > 3) {  // keep a few alive so that tails outlive their bpage's lease
                Msg &old = held.front();
                if (!stamped(*pool, old)) s.corrupt.fetch_add(1);
                pool->release(old.off, old.count, 0);
                held.erase(held.begin());
            }
        } else if (producer_done) {
            break;
        } else {
            sched_yield();
        }
        Msg mine{(uint64_t{2} << 40) + own, random_length(rng), 0, {}};
        int n = pool->alloc_message(mine.length, 0, mine.off);
        if (n > 0) {
            ++own;
            mine.count = static_cast<uint32_t>(n);
            stamp(*pool, mine);
            if (!stamped(*pool, mine)) s.corrupt.fetch_add(1);
            pool->release(mine.off, mine.count, 0);
        }
        if (!producer_done && rte_eal_get_lcore_state(worker) != RUNNING) {
            producer_done = true;  // drain what is left in the ring, then stop
        }
    }
    EXPECT_EQ(rte_eal_wait_lcore(worker), 0);
    for (Msg &m : held) {
        EXPECT_TRUE(stamped(*pool, m));
        pool->release(m.off, m.count, 0);
    }
    EXPECT_EQ(received, s.sent.load());
    EXPECT_EQ(s.corrupt.load(), 0u) << "a byte range was owned by two messages";
    EXPECT_GT(own, 0u);

    // The producer's lcore has finished, so its cache may be flushed from here.
    EXPECT_EQ(pool->flush_cache(0), 0);
    EXPECT_EQ(pool->flush_cache(1), 0);
    PoolCounters c = pool->counters();
    EXPECT_EQ(c.free_bpages, c.total_bpages) << "bpages lost";
    EXPECT_EQ(c.in_use_bpages, 0u);
    uint64_t allocated = 0, released = 0;
    for (auto &cc : c.caches) {
        allocated += cc.messages_allocated;
        released += cc.messages_released;
    }
    EXPECT_EQ(allocated, released);
    EXPECT_EQ(allocated, s.count + own);
    ::testing::Test::RecordProperty("producer_enomem_retries", std::to_string(s.enomem.load()));
    rte_ring_free(ring);
    return c.leases_taken_over;
}

TEST(AllocMessage, TwoLcoresHandOverMessagesThroughARing) { run_handoff(0, "mem_handoff"); }

// A lease of about 10 us makes tail bpages change hands constantly while both lcores allocate:
// the owner/thief protocol must never let two caches carve the same bpage (this caught a race
// when the owner could stall inside its carve window on a shared core).
// By default the allocating side has no fence and each takeover calls membarrier(2)
// (mem/asymmetric_fence.h); the second case runs the fallback, full fences on both sides.
TEST(AllocMessage, TwoLcoresWithConstantLeaseTakeovers) {
    uint64_t taken = run_handoff(20'000, "mem_handoff_short");
    EXPECT_GT(taken, 0u) << "no takeover happened: the test did not exercise the race";
}

TEST(AllocMessage, TwoLcoresWithConstantLeaseTakeoversAndFullFences) {
    uint64_t taken = run_handoff(20'000, "mem_handoff_fenced", true);
    EXPECT_GT(taken, 0u) << "no takeover happened: the test did not exercise the race";
}

}  // namespace
}  // namespace homa::mem

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::mem::EalEnvironment);
    return RUN_ALL_TESTS();
}
