// bench_mem_pool: ns per message allocation + free in the bpage pool for 100 B, 10 KB and
// 1 MB messages, beside rte_mempool_get_bulk/put_bulk of the same number of objects (one per
// bpage the message uses) in the same run. A benchmark, not a test: it asserts nothing.
//
//   bench_mem_pool [EAL args] [-- iterations]
// Without EAL arguments it runs unprivileged: --no-huge --no-shconf --no-pci -m 512 and a
// file prefix with the pid. With hugepages, e.g.:
//   bench_mem_pool --file-prefix=bench_mem --no-pci -m 512 -l 0
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "homa/mem/bpage_pool.h"

namespace {

using homa::mem::BpagePool;
using homa::mem::kMaxMessageBpages;

constexpr unsigned kBatch = 32;

struct Result {
    double pair_ns;   // alloc then free, one message at a time
    double batch_ns;  // kBatch allocations, then kBatch frees (tails share bpages)
};

constexpr unsigned kRepeats = 7;

Result best(Result a, Result b) {
    return {std::min(a.pair_ns, b.pair_ns), std::min(a.batch_ns, b.batch_ns)};
}

double ns_per(uint64_t cycles, uint64_t ops) {
    return static_cast<double>(cycles) * 1e9 / static_cast<double>(rte_get_tsc_hz()) /
           static_cast<double>(ops);
}

// With a caller_ticks pool, the clock is read once per kBatch messages, as a poll loop
// handling a burst of 32 packets would.
Result bench_pool(BpagePool &pool, uint32_t length, unsigned iterations) {
    uint32_t off[kBatch][kMaxMessageBpages];
    int n[kBatch];
    Result r{};
    uint64_t start = rte_rdtsc();
    for (unsigned i = 0; i < iterations; ++i) {
        if (i % kBatch == 0) pool.tick(0, rte_rdtsc());
        n[0] = pool.alloc_message(length, 0, off[0]);
        if (n[0] < 0) {
            fprintf(stderr, "alloc_message(%u): %s\n", length, strerror(-n[0]));
            exit(1);
        }
        pool.release(off[0], static_cast<uint32_t>(n[0]), 0);
    }
    r.pair_ns = ns_per(rte_rdtsc() - start, iterations);
    // 32 messages of 1 MB need 512 bpages; the pool is sized for that.
    unsigned rounds = iterations / kBatch;
    start = rte_rdtsc();
    for (unsigned i = 0; i < rounds; ++i) {
        pool.tick(0, rte_rdtsc());
        for (unsigned b = 0; b < kBatch; ++b) {
            n[b] = pool.alloc_message(length, 0, off[b]);
            if (n[b] < 0) {
                fprintf(stderr, "alloc_message(%u) in batch: %s\n", length, strerror(-n[b]));
                exit(1);
            }
        }
        for (unsigned b = 0; b < kBatch; ++b) pool.release(off[b], static_cast<uint32_t>(n[b]), 0);
    }
    r.batch_ns = ns_per(rte_rdtsc() - start, uint64_t{rounds} * kBatch);
    return r;
}

Result bench_mempool(rte_mempool *mp, unsigned objects, unsigned iterations) {
    void *objs[kBatch][kMaxMessageBpages];
    Result r{};
    uint64_t start = rte_rdtsc();
    for (unsigned i = 0; i < iterations; ++i) {
        if (rte_mempool_get_bulk(mp, objs[0], objects) != 0) {
            fprintf(stderr, "rte_mempool_get_bulk failed\n");
            exit(1);
        }
        rte_mempool_put_bulk(mp, objs[0], objects);
    }
    r.pair_ns = ns_per(rte_rdtsc() - start, iterations);
    unsigned rounds = iterations / kBatch;
    start = rte_rdtsc();
    for (unsigned i = 0; i < rounds; ++i) {
        for (unsigned b = 0; b < kBatch; ++b) {
            if (rte_mempool_get_bulk(mp, objs[b], objects) != 0) {
                fprintf(stderr, "rte_mempool_get_bulk failed in batch\n");
                exit(1);
            }
        }
        for (unsigned b = 0; b < kBatch; ++b) rte_mempool_put_bulk(mp, objs[b], objects);
    }
    r.batch_ns = ns_per(rte_rdtsc() - start, uint64_t{rounds} * kBatch);
    return r;
}

const char *backing_name(homa::mem::PoolConfig::Backing b) {
    switch (b) {
        case homa::mem::PoolConfig::Backing::kEal: return "eal memzone";
        case homa::mem::PoolConfig::Backing::kHugeMmap: return "mmap(MAP_HUGETLB)";
        case homa::mem::PoolConfig::Backing::kAnonMmap: return "anonymous mmap";
        default: return "auto";
    }
}

}  // namespace

int main(int argc, char **argv) {
    // EAL arguments first, then "--", then ours (the testpmd convention).
    std::vector<std::string> eal_args = {argv[0]};
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; ++i) eal_args.push_back(argv[i]);
    unsigned iterations = (i + 1 < argc) ? static_cast<unsigned>(atoi(argv[i + 1])) : 200000;
    if (eal_args.size() == 1) {
        eal_args.insert(eal_args.end(),
                        {"--no-huge", "--no-shconf", "--no-pci", "-m", "512", "-l", "0",
                         "--file-prefix=bench_mem_pool-" + std::to_string(getpid())});
    }
    std::vector<char *> eal_argv;
    for (auto &a : eal_args) eal_argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
        return 1;
    }

    homa::mem::PoolConfig cfg;
    cfg.bytes = size_t{576} * homa::mem::kBpageSize;  // a batch of 32 x 1 MB plus spare
    cfg.backing = homa::mem::PoolConfig::Backing::kEal;
    cfg.cache_bpages = 32;
    std::string err;
    auto pool = BpagePool::create(cfg, &err);
    cfg.caller_ticks = true;
    auto ticked = BpagePool::create(cfg, &err);
    if (!pool || !ticked) {
        fprintf(stderr, "BpagePool::create: %s\n", err.c_str());
        return 1;
    }
    // Same number of 64 KiB objects as the pool has bpages, with a per-lcore cache.
    rte_mempool *mp =
        rte_mempool_create("bench_mp", pool->total_bpages(), homa::mem::kBpageSize, 256, 0, nullptr,
                           nullptr, nullptr, nullptr, SOCKET_ID_ANY, 0);
    if (mp == nullptr) {
        fprintf(stderr, "rte_mempool_create: %s\n", rte_strerror(rte_errno));
        return 1;
    }

    printf(
        "bench_mem_pool: hugepages=%s, pool %s %zu MiB (%u bpages, cache_bpages %u), "
        "%u iterations, tsc %.2f GHz\n",
        rte_eal_has_hugepages() ? "yes" : "no (--no-huge)", backing_name(pool->backing()),
        pool->size_bytes() >> 20, pool->total_bpages(), cfg.cache_bpages, iterations,
        static_cast<double>(rte_get_tsc_hz()) / 1e9);
    printf(
        "ns per message (alloc + free), best of %u runs; 'pair' = alloc then free, 'batch32' = 32 "
        "allocs "
        "then 32 frees;\n'pool' reads the TSC per alloc, 'ticked' gets one tick per 32 "
        "messages (caller_ticks)\n",
        kRepeats);
    printf("%-8s %4s | %6s %6s %7s | %6s %6s %7s\n", "message", "objs", "pool", "ticked", "mempool",
           "pool", "ticked", "mempool");
    printf("%-8s %4s | %22s | %22s\n", "bytes", "", "pair", "batch32");
    for (uint32_t length : {100u, 10'000u, 1'000'000u}) {
        unsigned objects = BpagePool::bpages_needed(length);
        bench_pool(*pool, length, iterations / 10);  // warm up: touch pages, fill caches
        bench_pool(*ticked, length, iterations / 10);
        bench_mempool(mp, objects, iterations / 10);
        // The machine is shared: keep the best of kRepeats runs of each.
        Result p{1e9, 1e9}, t{1e9, 1e9}, m{1e9, 1e9};
        for (unsigned rep = 0; rep < kRepeats; ++rep) {
            p = best(p, bench_pool(*pool, length, iterations));
            t = best(t, bench_pool(*ticked, length, iterations));
            m = best(m, bench_mempool(mp, objects, iterations));
        }
        printf("%-8u %4u | %6.1f %6.1f %7.1f | %6.1f %6.1f %7.1f\n", length, objects, p.pair_ns,
               t.pair_ns, m.pair_ns, p.batch_ns, t.batch_ns, m.batch_ns);
    }
    homa::mem::PoolCounters c = pool->counters();
    printf("pool counters: free %u/%u, alloc_failures %lu, leases_taken_over %lu\n", c.free_bpages,
           c.total_bpages, static_cast<unsigned long>(c.alloc_failures),
           static_cast<unsigned long>(c.leases_taken_over));
    rte_mempool_free(mp);
    pool.reset();
    ticked.reset();
    rte_eal_cleanup();
    return 0;
}
