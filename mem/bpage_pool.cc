// The bpage allocator; see bpage_pool.h.
//
// DESIGN NOTES
// Linux Homa (homa_pool.c) protects each bpage with a spinlock and counts its users with an
// atomic refcount, so every allocation takes a lock and does atomic increments. Here the
// common case must do neither, so the state is split by writer:
//  - Whole bpages carry no count: they go to and come from a per-cache stash (plain array).
//    Only refilling or flushing the stash takes the shared list's mutex.
//  - A tail bpage counts tails in three words: `carved` and `owner_released` are written
//    only by the owning cache (load + store, no RMW), `remote_released` by the other caches
//    (fetch_add). Live tails = carved - owner_released - remote_released.
//  - Owner and a lease epoch share one 64-bit word `own`. A cache that finds its bpage's
//    owner changed simply forgets it. Retiring a bpage (owner := none) and a remote release
//    each write their word and then read the other's (seq_cst both sides), so at least one
//    of them sees that the last tail is gone; a CAS of `own` (epoch included) picks exactly
//    one to free it, and fails if the bpage was already freed and started over — a plain
//    "freeing" flag was tried first and could free a bpage that had become a new tail.
//  - Lease takeover (Homa: a bpage whose owner's lease expired can be taken by another core):
//    a thief needs owner != none, now > expiry, and no live tails; it CASes `own` with the
//    epoch it read. An owner whose lease has less than half left renews the slow way: it
//    stores the new expiry, then CASes `own` (epoch + 1) — a thief that read the old epoch
//    fails, one that read the new epoch sees the new expiry.
//  - Owner and thief are kept apart Dekker-style, with no RMW on the owner's path: the owner
//    sets its cache's `carving` flag, fences, and only then checks `own` and carves; the
//    thief CASes `own`, fences, waits for the former owner's `carving` to drop, and claims the
//    bpage only if it still has no live tail (with the same CAS to kFreed that releases
//    use, so a bpage is never freed twice). One of the two always sees the other's write.
//    The first version relied on the owner never stalling for half a lease inside the carve
//    window; on a loaded 2-core machine (lcores sharing a core) that happened and two caches
//    carved the same bpage. The owner's fence cost tens of cycles per tail allocation, so it
//    is asymmetric (asymmetric_fence.h): a compiler barrier for the owner, membarrier() for
//    the thief, which runs at most once per lease.
// Tried and dropped: one atomic refcount per bpage (an RMW per tail alloc and release) and
// a lock-free shared free list (ABA handling costs more than the rarely taken mutex).
#include "homa/mem/bpage_pool.h"
#include "homa/mem/prefetch.h"

#include <rte_cycles.h>
#include <sched.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <mutex>

#include "asymmetric_fence.h"
#include "pool_memory.h"

namespace homa::mem {
namespace {

constexpr uint32_t kNoOwner = 0xFFFFFFFFu;
// `own` of a retired tail bpage that one releaser has claimed to free.
constexpr uint32_t kFreed = 0xFFFFFFFEu;
// Tails start on cache-line boundaries so that two messages never share a line.
constexpr uint32_t kTailAlign = 64;

enum Kind : uint32_t { kFree = 0, kWhole = 1, kTail = 2 };

constexpr uint32_t owner_of(uint64_t own) { return static_cast<uint32_t>(own); }
constexpr uint64_t make_own(uint32_t owner, uint64_t prev) {
    return ((prev >> 32) + 1) << 32 | owner;
}

// Single-writer counter bump: a load and a store, readers see a recent value.
inline void bump(std::atomic<uint64_t> &c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

uint64_t tsc_clock(void *) { return rte_rdtsc(); }

}  // namespace

struct alignas(64) Descriptor {
    std::atomic<uint64_t> own{kNoOwner};  // owner cache (low 32 bits) and epoch (high 32)
    std::atomic<uint64_t> expiry{0};      // lease end, in clock units
    // kTail for a tail bpage; kWhole only for the last bpage of a message without a tail
    // (release looks at the last offset only; earlier ones are always whole); else kFree.
    // Touching one descriptor per message instead of sixteen keeps 1 MB messages cheap.
    std::atomic<uint32_t> kind{kFree};
    std::atomic<uint32_t> used{0};             // bytes carved (owner writes)
    std::atomic<uint32_t> carved{0};           // tails handed out (owner writes)
    std::atomic<uint32_t> owner_released{0};   // tails released by the owner (owner writes)
    std::atomic<uint32_t> remote_released{0};  // tails released by other caches (fetch_add)

    uint32_t live() const {
        return carved.load(std::memory_order_acquire) -
               owner_released.load(std::memory_order_acquire) -
               remote_released.load(std::memory_order_seq_cst);
    }
};

struct alignas(64) Cache {
    std::unique_ptr<uint32_t[]> stash;     // free bpage indexes; owner only
    uint32_t count = 0;                    // entries in stash; owner only
    int64_t tail = -1;                     // current tail bpage; owner only
    uint64_t now = 0;                      // caller_ticks: the owner's last tick
    std::atomic<uint32_t> stash_count{0};  // mirrors count for readers
    std::atomic<int64_t> tail_published{-1};
    // 1 while the owner is between checking that it still owns its tail bpage and carving
    // from it (see the takeover note in the DESIGN NOTES).
    std::atomic<uint32_t> carving{0};
    std::atomic<uint64_t> messages_allocated{0};
    std::atomic<uint64_t> messages_released{0};
    std::atomic<uint64_t> alloc_failures{0};
    std::atomic<uint64_t> leases_taken_over{0};
    std::atomic<uint64_t> bpages_freed{0};
};

struct BpagePool::Impl {
    PoolConfig config;
    PoolMemory memory;
    uint32_t nbpages = 0;
    uint32_t stash_capacity = 0;
    std::unique_ptr<Descriptor[]> desc;
    std::unique_ptr<Cache[]> caches;

    std::mutex shared_mutex;  // guards shared_free
    std::unique_ptr<uint32_t[]> shared_free;
    uint32_t shared_count = 0;
    std::atomic<uint32_t> shared_count_published{0};

    AsymmetricFence carve_fence;  // owner: light(), thief: heavy()

    explicit Impl(const PoolConfig &c) : config(c), carve_fence(c.full_fence) {}

    uint64_t now() { return config.clock(config.clock_ctx); }
    void publish(Cache &c) { c.stash_count.store(c.count, std::memory_order_relaxed); }

    void set_tail(Cache &c, int64_t page) {
        c.tail = page;
        c.tail_published.store(page, std::memory_order_relaxed);
    }

    // Moves stash entries beyond the first `keep` to the shared list.
    void give_back(Cache &c, uint32_t keep) {
        std::lock_guard<std::mutex> lock(shared_mutex);
        while (c.count > keep) shared_free[shared_count++] = c.stash[--c.count];
        shared_count_published.store(shared_count, std::memory_order_relaxed);
        publish(c);
    }

    // Puts a bpage whose descriptor already says kFree into the stash (caller publishes).
    void stash_free(Cache &c, uint32_t page) {
        c.stash[c.count++] = page;
        if (c.count > config.cache_bpages) give_back(c, config.cache_bpages / 2);
    }

    void free_bpage(Cache &c, uint32_t page) {
        desc[page].kind.store(kFree, std::memory_order_relaxed);
        stash_free(c, page);
        bump(c.bpages_freed);
        publish(c);
    }

    // Gives up the cache's tail bpage; frees it if no tail in it is live. A CAS, not a
    // store: after an expired lease a thief may own the bpage already (then we just forget
    // it). seq_cst also orders it before our read of remote_released (see DESIGN NOTES).
    void retire_tail(Cache &c, unsigned cache) {
        if (c.tail < 0) return;
        uint32_t page = static_cast<uint32_t>(c.tail);
        Descriptor &d = desc[page];
        set_tail(c, -1);
        uint64_t own = d.own.load(std::memory_order_relaxed);
        if (owner_of(own) != cache) return;
        uint64_t retired = make_own(kNoOwner, own);
        if (!d.own.compare_exchange_strong(own, retired, std::memory_order_seq_cst)) return;
        if (d.live() == 0) claim_and_free(c, page, retired);
    }

    // Frees a retired bpage if `own` still holds the value under which the caller saw its
    // last tail go. The epoch in `own` makes the claim unique, and makes it fail if the
    // bpage was freed by the other party and started over meanwhile.
    void claim_and_free(Cache &c, uint32_t page, uint64_t retired) {
        if (desc[page].own.compare_exchange_strong(retired, make_own(kFreed, retired))) {
            free_bpage(c, page);
        }
    }

    bool try_take_over(unsigned cache, uint32_t page, uint64_t t) {
        Descriptor &d = desc[page];
        if (d.kind.load(std::memory_order_relaxed) != kTail) return false;
        uint64_t own = d.own.load(std::memory_order_acquire);
        uint32_t owner = owner_of(own);
        if (owner >= config.num_caches || owner == cache) return false;
        if (t <= d.expiry.load(std::memory_order_acquire) || d.live() != 0) return false;
        uint64_t retired = make_own(kNoOwner, own);
        if (!d.own.compare_exchange_strong(own, retired, std::memory_order_seq_cst)) return false;
        carve_fence.heavy();
        // The former owner may be inside its carve window, having checked `own` before our
        // CAS: let it finish, then look at the tails again.
        while (caches[owner].carving.load(std::memory_order_acquire) != 0) sched_yield();
        if (d.live() != 0) return false;  // it carved: the bpage stays retired; releases free it
        return d.own.compare_exchange_strong(retired, make_own(kFreed, retired));
    }

    // Makes at least `need` bpages available in the stash: shared list, then takeovers.
    bool reserve(Cache &c, unsigned cache, uint32_t need, uint64_t t) {
        if (c.count >= need) return true;
        {
            std::lock_guard<std::mutex> lock(shared_mutex);
            uint32_t want = need + config.cache_bpages / 2;
            while (c.count < want && shared_count > 0)
                c.stash[c.count++] = shared_free[--shared_count];
            shared_count_published.store(shared_count, std::memory_order_relaxed);
        }
        // Only another cache's current tail can be taken over: retiring a tail clears its
        // owner. So look at those, O(caches), instead of scanning every descriptor: the scan
        // made each failed allocation cost O(pool) exactly when a full pool under load retries
        // its buffer waiters on every returned page (issue 12). A stale hint is harmless:
        // try_take_over decides from the descriptor alone.
        for (unsigned o = 0; o < config.num_caches && c.count < need; ++o) {
            int64_t hint = caches[o].tail_published.load(std::memory_order_relaxed);
            if (o == cache || hint < 0 || hint >= int64_t{nbpages}) continue;
            uint32_t p = static_cast<uint32_t>(hint);
            if (!try_take_over(cache, p, t)) continue;
            desc[p].kind.store(kFree, std::memory_order_relaxed);
            c.stash[c.count++] = p;
            bump(c.leases_taken_over);
        }
        publish(c);
        return c.count >= need;
    }

    // True if `tail` bytes can be carved from the cache's tail bpage (renewing its lease).
    bool tail_fits(Cache &c, unsigned cache, uint32_t tail, uint64_t t) {
        if (c.tail < 0) return false;
        Descriptor &d = desc[c.tail];
        uint64_t own = d.own.load(std::memory_order_acquire);
        if (owner_of(own) != cache) {  // taken over after our lease expired
            set_tail(c, -1);
            return false;
        }
        if (t + config.lease_cycles / 2 >= d.expiry.load(std::memory_order_relaxed)) {
            d.expiry.store(t + config.lease_cycles, std::memory_order_release);
            if (!d.own.compare_exchange_strong(own, make_own(cache, own))) {
                set_tail(c, -1);
                return false;
            }
        }
        uint32_t used = d.used.load(std::memory_order_relaxed);
        if (used + tail <= kBpageSize) return true;
        if (d.live() == 0) {  // every tail came back: start the bpage over (Homa's reuse)
            d.used.store(0, std::memory_order_relaxed);
            return true;
        }
        retire_tail(c, cache);
        return false;
    }

    void start_tail(Cache &c, unsigned cache, uint32_t page, uint64_t t) {
        Descriptor &d = desc[page];
        d.used.store(0, std::memory_order_relaxed);
        d.carved.store(0, std::memory_order_relaxed);
        d.owner_released.store(0, std::memory_order_relaxed);
        d.remote_released.store(0, std::memory_order_relaxed);
        d.expiry.store(t + config.lease_cycles, std::memory_order_relaxed);
        d.kind.store(kTail, std::memory_order_relaxed);
        d.own.store(make_own(cache, d.own.load(std::memory_order_relaxed)),
                    std::memory_order_release);
        set_tail(c, page);
    }

    uint32_t carve(Cache &c, uint32_t tail, uint64_t t) {
        Descriptor &d = desc[c.tail];
        uint32_t at = d.used.load(std::memory_order_relaxed);
        d.used.store((at + tail + kTailAlign - 1) & ~(kTailAlign - 1), std::memory_order_relaxed);
        d.carved.store(d.carved.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        d.expiry.store(t + config.lease_cycles, std::memory_order_release);
        return static_cast<uint32_t>(c.tail) * kBpageSize + at;
    }

    void release_tail(Cache &c, unsigned cache, uint32_t page) {
        Descriptor &d = desc[page];
        if (owner_of(d.own.load(std::memory_order_relaxed)) == cache) {
            // Nobody else changes `own` while a tail is live, so we stay the owner.
            d.owner_released.store(d.owner_released.load(std::memory_order_relaxed) + 1,
                                   std::memory_order_release);
            return;
        }
        uint32_t r = d.remote_released.fetch_add(1, std::memory_order_seq_cst) + 1;
        uint64_t own = d.own.load(std::memory_order_seq_cst);
        if (owner_of(own) != kNoOwner) return;
        uint32_t others = d.carved.load(std::memory_order_acquire) -
                          d.owner_released.load(std::memory_order_acquire);
        if (others == r) claim_and_free(c, page, own);
    }
};

BpagePool::BpagePool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpagePool::~BpagePool() = default;

std::unique_ptr<BpagePool> BpagePool::create(const PoolConfig &config, std::string *error) {
    auto fail = [error](const char *msg) {
        if (error != nullptr) *error = msg;
        return nullptr;
    };
    size_t bytes = config.bytes / kBpageSize * kBpageSize;
    if (bytes == 0) return fail("pool smaller than one bpage");
    if (bytes > (size_t{1} << 32) - kBpageSize) return fail("pool larger than 4 GiB - 64 KiB");
    if (config.num_caches == 0) return fail("num_caches must be at least 1");
    if (config.cache_bpages == 0) return fail("cache_bpages must be at least 1");

    auto impl = std::make_unique<Impl>(config);
    if (impl->config.clock == nullptr) impl->config.clock = tsc_clock;
    if (obtain_pool_memory(config, bytes, &impl->memory, error) < 0) return nullptr;
    impl->nbpages = static_cast<uint32_t>(bytes / kBpageSize);
    impl->desc = std::make_unique<Descriptor[]>(impl->nbpages);
    impl->shared_free = std::make_unique<uint32_t[]>(impl->nbpages);
    // Highest index on top: the first allocations get the lowest addresses.
    for (uint32_t i = 0; i < impl->nbpages; ++i) impl->shared_free[i] = impl->nbpages - 1 - i;
    impl->shared_count = impl->nbpages;
    impl->shared_count_published.store(impl->nbpages);
    // A stash holds up to cache_bpages + 1 before flushing, and reserve() adds up to a
    // message's worth plus half a stash on top of what is there.
    impl->stash_capacity = config.cache_bpages * 2 + kMaxMessageBpages + 1;
    impl->caches = std::make_unique<Cache[]>(config.num_caches);
    for (unsigned i = 0; i < config.num_caches; ++i) {
        impl->caches[i].stash = std::make_unique<uint32_t[]>(impl->stash_capacity);
    }
    return std::unique_ptr<BpagePool>(new BpagePool(std::move(impl)));
}

int BpagePool::alloc_message(uint32_t length, unsigned cache, uint32_t offsets[kMaxMessageBpages]) {
    Impl &p = *impl_;
    if (length == 0 || length > kMaxMessageLength || cache >= p.config.num_caches) return -EINVAL;
    Cache &c = p.caches[cache];
    uint32_t whole = length / kBpageSize;
    uint32_t tail = length % kBpageSize;
    uint64_t t = p.config.caller_ticks ? c.now : p.now();
    // The carve windows are kept short and never contain reserve(): a thief in reserve() waits
    // for the owner's window to close, and two caches stealing from each other must not wait
    // on each other.
    bool carved = false;
    uint32_t tail_offset = 0;
    if (tail != 0) {
        c.carving.store(1, std::memory_order_relaxed);
        p.carve_fence.light();
        if (p.tail_fits(c, cache, tail, t)) {
            tail_offset = p.carve(c, tail, t);
            carved = true;
        }
        c.carving.store(0, std::memory_order_release);
    }
    uint32_t need = whole + (tail != 0 && !carved ? 1 : 0);
    // Retire before reserving: freeing the old tail bpage may flush the stash.
    if (tail != 0 && !carved) p.retire_tail(c, cache);
    if (!p.reserve(c, cache, need, t)) {
        if (carved) p.release_tail(c, cache, tail_offset / kBpageSize);  // all or nothing
        // Hand the stash to the shared list so that a smaller waiting message elsewhere
        // can still be served.
        p.give_back(c, 0);
        bump(c.alloc_failures);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < whole; ++i) offsets[i] = c.stash[--c.count] * kBpageSize;
    if (tail == 0) {
        p.desc[offsets[whole - 1] / kBpageSize].kind.store(kWhole, std::memory_order_relaxed);
    } else {
        if (!carved) {
            c.carving.store(1, std::memory_order_relaxed);
            p.carve_fence.light();
            p.start_tail(c, cache, c.stash[--c.count], t);
            tail_offset = p.carve(c, tail, t);
            c.carving.store(0, std::memory_order_release);
        }
        offsets[whole] = tail_offset;
    }
    p.publish(c);
    bump(c.messages_allocated);
    return static_cast<int>(whole + (tail != 0 ? 1 : 0));
}

void BpagePool::release(const uint32_t *offsets, uint32_t count, unsigned cache) {
    Impl &p = *impl_;
    assert(cache < p.config.num_caches && count <= kMaxMessageBpages);
    Cache &c = p.caches[cache];
    if (count == 0) return;
    for (uint32_t i = 0; i + 1 < count; ++i) {
        uint32_t page = offsets[i] / kBpageSize;
        assert(page < p.nbpages && p.desc[page].kind.load(std::memory_order_relaxed) == kFree);
        p.stash_free(c, page);
    }
    bump(c.bpages_freed, count - 1);
    uint32_t last = offsets[count - 1] / kBpageSize;
    assert(last < p.nbpages);
    uint32_t kind = p.desc[last].kind.load(std::memory_order_relaxed);
    assert(kind == kWhole || kind == kTail);
    if (kind == kWhole) {
        p.free_bpage(c, last);
    } else {
        p.release_tail(c, cache, last);
    }
    p.publish(c);
    bump(c.messages_released);
}

int BpagePool::tick(unsigned cache, uint64_t now) noexcept {
    if (cache >= impl_->config.num_caches) return -EINVAL;
    impl_->caches[cache].now = now;
    return 0;
}

int BpagePool::flush_cache(unsigned cache) {
    Impl &p = *impl_;
    if (cache >= p.config.num_caches) return -EINVAL;
    Cache &c = p.caches[cache];
    p.retire_tail(c, cache);
    p.give_back(c, 0);
    return 0;
}

void BpagePool::prefetch_carve(unsigned cache) const noexcept {
    const Impl &p = *impl_;
    if (cache >= p.config.num_caches) return;
    const int64_t tail = p.caches[cache].tail;
    if (tail >= 0) mem::prefetch_for_write(&p.desc[static_cast<size_t>(tail)]);
}

uint8_t *BpagePool::base() const noexcept { return impl_->memory.base; }
size_t BpagePool::size_bytes() const noexcept { return impl_->memory.bytes; }
uint32_t BpagePool::total_bpages() const noexcept { return impl_->nbpages; }

uint64_t BpagePool::iova(uint32_t offset) const noexcept {
    if (offset >= impl_->memory.bytes) return kBadIova;
    uint64_t page_iova = impl_->memory.bpage_iova[offset / kBpageSize];
    return page_iova == kBadIova ? kBadIova : page_iova + offset % kBpageSize;
}

bool BpagePool::contains(const void *addr, size_t len) const noexcept {
    auto a = reinterpret_cast<uintptr_t>(addr);
    auto b = reinterpret_cast<uintptr_t>(impl_->memory.base);
    return a >= b && len <= impl_->memory.bytes && a - b <= impl_->memory.bytes - len;
}

uint32_t BpagePool::free_bpages() const noexcept {
    uint32_t n = impl_->shared_count_published.load(std::memory_order_relaxed);
    for (unsigned i = 0; i < impl_->config.num_caches; ++i) {
        n += impl_->caches[i].stash_count.load(std::memory_order_relaxed);
    }
    return n;
}

uint64_t BpagePool::release_generation() const noexcept {
    uint64_t g = 0;
    for (unsigned i = 0; i < impl_->config.num_caches; ++i) {
        g += impl_->caches[i].bpages_freed.load(std::memory_order_relaxed);
    }
    return g;
}

PoolConfig::Backing BpagePool::backing() const noexcept { return impl_->memory.backing; }

bool BpagePool::uses_membarrier() const noexcept { return impl_->carve_fence.uses_membarrier(); }

PoolCounters BpagePool::counters() const {
    PoolCounters out;
    out.total_bpages = impl_->nbpages;
    out.free_bpages = free_bpages();
    out.in_use_bpages = out.total_bpages - out.free_bpages;
    for (unsigned i = 0; i < impl_->config.num_caches; ++i) {
        const Cache &c = impl_->caches[i];
        CacheCounters cc;
        cc.messages_allocated = c.messages_allocated.load(std::memory_order_relaxed);
        cc.messages_released = c.messages_released.load(std::memory_order_relaxed);
        cc.alloc_failures = c.alloc_failures.load(std::memory_order_relaxed);
        cc.leases_taken_over = c.leases_taken_over.load(std::memory_order_relaxed);
        cc.bpages_freed = c.bpages_freed.load(std::memory_order_relaxed);
        cc.stash_bpages = c.stash_count.load(std::memory_order_relaxed);
        cc.tail_bpage = c.tail_published.load(std::memory_order_relaxed);
        out.alloc_failures += cc.alloc_failures;
        out.leases_taken_over += cc.leases_taken_over;
        out.caches.push_back(cc);
    }
    return out;
}

}  // namespace homa::mem
