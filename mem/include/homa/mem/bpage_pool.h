/**
 * @file
 * The bpage pool: message buffers carved from pinned memory in 64 KiB bpages, after Linux
 * Homa's homa_pool. A message of N bytes gets N >> 16 whole bpages plus, for the remaining
 * N & 0xFFFF bytes, a tail carved from a partly used bpage that the calling cache owns under
 * a lease. Offsets are byte offsets from base(); offset i covers message bytes
 * [i * 65536, (i + 1) * 65536), the last one possibly a tail inside a shared bpage.
 *
 * @code
 *   homa::mem::PoolConfig cfg;
 *   cfg.bytes = 64 << 20;
 *   std::string err;
 *   auto pool = homa::mem::BpagePool::create(cfg, &err);
 *   if (!pool) { fprintf(stderr, "pool: %s\n", err.c_str()); return; }
 *   uint32_t offsets[homa::mem::kMaxMessageBpages];
 *   int n = pool->alloc_message(10000, cache, offsets);
 *   if (n == -ENOMEM) { queue_until(pool->release_generation() changes); return; }
 *   memcpy(pool->base() + offsets[0], data, 10000);
 *   pool->release(offsets, n, cache);
 * @endcode
 *
 * Caches: each cache (one per lcore or thread, chosen by the caller) keeps a small stash of
 * free bpages and its current tail bpage. A cache index must be used by one thread at a time;
 * then alloc_message and release take no lock and perform no atomic read-modify-write unless
 * the stash must be refilled or flushed, the tail bpage is replaced, or a tail is released by
 * a cache that does not own its bpage.
 *
 * This header includes no DPDK header (proto/ includes it); DPDK stays in the .cc files.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace homa::mem {

/** Size of one bpage (Homa's HOMA_BPAGE_SIZE). */
inline constexpr uint32_t kBpageSize = 1u << 16;
/** Largest message Homa carries. */
inline constexpr uint32_t kMaxMessageLength = 1'000'000;
/** Most offsets a message can need (Homa's HOMA_MAX_BPAGES): 15 whole bpages and a tail. */
inline constexpr uint32_t kMaxMessageBpages = (kMaxMessageLength + kBpageSize - 1) / kBpageSize;
/** Returned by BpagePool::iova when the backing has no IOVA (same value as RTE_BAD_IOVA). */
inline constexpr uint64_t kBadIova = ~uint64_t{0};

/** How a BpagePool is created. */
struct PoolConfig {
    /** Where the memory comes from. */
    enum class Backing {
        /** kEal when EAL is initialised, else kHugeMmap falling back to kAnonMmap. */
        kAuto,
        /** An rte_memzone: hugepages when EAL has them, EAL's own memory under --no-huge. */
        kEal,
        /** mmap(MAP_HUGETLB); fails if no hugepages are free (kAuto then tries kAnonMmap). */
        kHugeMmap,
        /** Anonymous mmap, populated and mlock'ed when the process may lock memory. */
        kAnonMmap,
    };

    /** Pool size; rounded down to whole bpages, at least one bpage. */
    size_t bytes = 16u << 20;
    Backing backing = Backing::kAuto;
    /** Number of caches (one per lcore or thread that allocates or releases). */
    unsigned num_caches = 1;
    /**
     * How long a cache owns its tail bpage after its last allocation from it. A bpage whose
     * lease expired and that holds no live tails may be taken over by another cache.
     * Default: about 10 ms at 2 GHz (Linux Homa's bpage_lease_usecs default is 10 ms).
     */
    uint64_t lease_cycles = 20'000'000;
    /** Free bpages a cache keeps before flushing half of them to the shared free list. */
    unsigned cache_bpages = 8;
    /** NUMA socket for kEal (-1: any). */
    int socket_id = -1;
    /**
     * Time source in the unit of lease_cycles; nullptr means the TSC. Tests pass their own
     * clock. Called from alloc_message on the calling thread.
     */
    uint64_t (*clock)(void *ctx) = nullptr;
    void *clock_ctx = nullptr;
    /**
     * true: the pool reads no clock at all; each cache's time is the last value its owning
     * thread passed to BpagePool::tick() (the poll loop's once-per-iteration TSC). Saves a
     * clock read per allocation (rdtsc costs about 20 ns in a VM). The loop iteration must
     * stay far below lease_cycles / 2 (see DESIGN NOTES in bpage_pool.cc).
     */
    bool caller_ticks = false;
    /**
     * true: a full fence on every tail allocation (the owner side of the takeover protocol);
     * for tests of that path. false (default): the allocating side pays only a compiler
     * barrier and a lease takeover calls membarrier(2), when the kernel offers it (see
     * uses_membarrier()).
     */
    bool full_fence = false;
};

/** Counters of one cache (a snapshot; each value is read without stopping the cache). */
struct CacheCounters {
    uint64_t messages_allocated = 0;  ///< alloc_message successes.
    uint64_t messages_released = 0;   ///< release calls.
    uint64_t alloc_failures = 0;      ///< alloc_message returned -ENOMEM.
    uint64_t leases_taken_over = 0;   ///< Expired bpages of other caches taken by this one.
    uint64_t bpages_freed = 0;        ///< Bpages this cache returned to the free state.
    uint32_t stash_bpages = 0;        ///< Free bpages held in this cache's stash.
    int64_t tail_bpage = -1;          ///< Index of the cache's current tail bpage, or -1.
};

/** Counters of the whole pool. in_use_bpages = total_bpages - free_bpages. */
struct PoolCounters {
    uint32_t total_bpages = 0;
    uint32_t free_bpages = 0;
    uint32_t in_use_bpages = 0;
    uint64_t alloc_failures = 0;
    uint64_t leases_taken_over = 0;
    std::vector<CacheCounters> caches;
};

/**
 * A pool of 64 KiB bpages. Create with create(); destroy by dropping the unique_ptr once no
 * thread uses it (the memory is unmapped or the memzone freed).
 */
class BpagePool {
  public:
    /**
     * Creates a pool.
     * @param config  size, backing, caches, lease; see PoolConfig.
     * @param error   on failure receives a message (may be nullptr).
     * @return the pool, or nullptr when: bytes < one bpage or more than 2^32 - 2^16 bytes,
     *         num_caches is 0, cache_bpages is 0, kEal without an initialised EAL, or the
     *         memory could not be obtained (memzone reservation, mmap).
     * Threading: any thread; for kEal, after rte_eal_init.
     */
    static std::unique_ptr<BpagePool> create(const PoolConfig &config, std::string *error);

    ~BpagePool();
    BpagePool(const BpagePool &) = delete;
    BpagePool &operator=(const BpagePool &) = delete;

    /** Bpages a message of `length` bytes may need (whole bpages plus one for a tail). */
    static constexpr uint32_t bpages_needed(uint32_t length) noexcept {
        return (length + kBpageSize - 1) / kBpageSize;
    }

    /**
     * Allocates space for a message, all or nothing.
     * @param length   1 .. kMaxMessageLength bytes.
     * @param cache    the caller's cache, < num_caches; only one thread may use it at a time.
     * @param offsets  receives the offsets (see the file comment); entries past the result
     *                 are left untouched.
     * @return the number of offsets (1..16); -EINVAL for a bad length or cache; -ENOMEM when
     *         the bpages are not available to this cache (nothing is allocated; the failure
     *         is counted). Free bpages sitting in other caches' stashes are not taken, so up
     *         to (num_caches - 1) * cache_bpages free bpages may be unreachable.
     * Ownership: the space belongs to the caller until it passes the offsets to release().
     */
    int alloc_message(uint32_t length, unsigned cache, uint32_t offsets[kMaxMessageBpages]);

    /**
     * Returns a message's space.
     * @param offsets  exactly the offsets alloc_message produced for one message.
     * @param count    alloc_message's result.
     * @param cache    the caller's cache; any cache may release any message.
     * Releasing offsets that are not allocated is a caller bug (checked by assert in debug
     * builds). Threading: as alloc_message. Errors: none.
     */
    void release(const uint32_t *offsets, uint32_t count, unsigned cache);

    /**
     * Sets `cache`'s time (in the clock's unit) when PoolConfig::caller_ticks is true;
     * ignored otherwise. Owning thread of `cache` only; no lock, no atomic RMW.
     * @return 0, or -EINVAL for a bad cache.
     */
    int tick(unsigned cache, uint64_t now) noexcept;

    /**
     * A hint: asks for the line that the next short allocation from `cache` writes (its tail
     * bpage's descriptor), for writing; the pool's state does not change. Another thread that
     * releases a message carved from that bpage takes the line (an atomic add), and the next
     * carve would then wait for it on a message's critical path (about 0.3 us with two vCPUs
     * placed apart). For a worker that expects to receive soon, e.g. after sending requests
     * an application thread queued. Owning thread of `cache` only; a bad cache is ignored.
     */
    void prefetch_carve(unsigned cache) const noexcept;

    /**
     * Gives up `cache`'s tail bpage and moves its stash to the shared free list, so that
     * another cache can use them (e.g. when a lcore stops). Owning thread of `cache` only.
     * @return 0, or -EINVAL for a bad cache.
     */
    int flush_cache(unsigned cache);

    /** Start of the pool memory; offsets are relative to it. Any thread. */
    uint8_t *base() const noexcept;
    /** Pool size in bytes (a multiple of kBpageSize). Any thread. */
    size_t size_bytes() const noexcept;
    /** Number of bpages in the pool. Any thread. */
    uint32_t total_bpages() const noexcept;

    /**
     * IO address of the byte at `offset` (< size_bytes()), for zero-copy DMA. kEal: the
     * memzone's IOVA (each bpage is IOVA-contiguous; across bpages they need not be).
     * kHugeMmap / kAnonMmap: kBadIova — such memory must be registered with DPDK
     * (rte_extmem_register and DMA mapping) by the user before a NIC can use it.
     * Any thread.
     */
    uint64_t iova(uint32_t offset) const noexcept;

    /** True if [addr, addr + len) lies inside the pool. Any thread. */
    bool contains(const void *addr, size_t len) const noexcept;

    /** Free bpages (shared list plus all stashes); a racy snapshot. Any thread. */
    uint32_t free_bpages() const noexcept;

    /**
     * Increases whenever bpages become free. The dataplane keeps RPCs that got -ENOMEM in
     * a queue (shortest first) and retries when this value changes. Any thread.
     * An idle cache's tail bpage whose lease expired is not counted as free and its
     * takeover does not change this value: retry on a timer too (every lease_cycles).
     */
    uint64_t release_generation() const noexcept;

    /** The backing actually used (never kAuto). Any thread. */
    PoolConfig::Backing backing() const noexcept;

    /** A snapshot of the counters. Any thread; allocates (not for the datapath). */
    PoolCounters counters() const;

    /** True when tail allocations run without a full fence because lease takeovers use
     *  membarrier(2); false when the kernel refused it or PoolConfig::full_fence. Any thread. */
    bool uses_membarrier() const noexcept;

    struct Impl;

  private:
    explicit BpagePool(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace homa::mem
