// Pool memory backings; see pool_memory.h.
#include "pool_memory.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace homa::mem {
namespace {

static_assert(kBadIova == RTE_BAD_IOVA, "kBadIova must equal RTE_BAD_IOVA");

constexpr size_t kHugePage2M = 2u << 20;

void set_error(std::string *error, const std::string &msg) {
    if (error != nullptr) *error = msg;
}

// EAL keeps no public "initialised" flag; its lcore count is 0 until rte_eal_init ran.
bool eal_running() { return rte_lcore_count() > 0; }

// IOVA of one byte of EAL memory: its memseg's IOVA plus the offset (rte_malloc_virt2iova
// only accepts the start of a malloc element, not memzone interiors).
uint64_t virt2iova(const uint8_t *addr) {
    const rte_memseg *ms = rte_mem_virt2memseg(addr, nullptr);
    if (ms == nullptr || ms->iova == RTE_BAD_IOVA) return kBadIova;
    if (rte_eal_iova_mode() == RTE_IOVA_VA) return reinterpret_cast<uintptr_t>(addr);
    return ms->iova + static_cast<uint64_t>(addr - static_cast<const uint8_t *>(ms->addr));
}

// A bpage is usable for DMA through one IOVA only if all its 4 KiB pieces are contiguous
// in IO space (under --no-huge every 4 KiB page is its own memseg).
uint64_t bpage_iova(const uint8_t *bpage) {
    uint64_t first = virt2iova(bpage);
    if (first == kBadIova) return kBadIova;
    for (size_t off = 4096; off < kBpageSize; off += 4096) {
        if (virt2iova(bpage + off) != first + off) return kBadIova;
    }
    return first;
}

int from_memzone(const PoolConfig &config, size_t bytes, PoolMemory *out, std::string *error) {
    if (!eal_running()) {
        set_error(error, "backing kEal needs rte_eal_init first");
        return -ENODEV;
    }
    // Memzone names are global to the process (and its secondaries); the PoolMemory's own
    // address makes the name unique among live pools without a global counter.
    char name[RTE_MEMZONE_NAMESIZE];
    snprintf(name, sizeof(name), "homa_bp_%p", static_cast<void *>(out));
    const rte_memzone *mz =
        rte_memzone_reserve_aligned(name, bytes, config.socket_id, 0, kBpageSize);
    if (mz == nullptr) {
        set_error(error, std::string("rte_memzone_reserve_aligned: ") + rte_strerror(rte_errno));
        return -ENOMEM;
    }
    out->memzone = mz;
    out->base = static_cast<uint8_t *>(mz->addr);
    out->backing = PoolConfig::Backing::kEal;
    return 0;
}

int from_mmap(size_t bytes, bool huge, PoolMemory *out, std::string *error) {
    size_t len = huge ? (bytes + kHugePage2M - 1) / kHugePage2M * kHugePage2M : bytes;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | (huge ? MAP_HUGETLB : 0);
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED) {
        set_error(error, std::string(huge ? "mmap(MAP_HUGETLB): " : "mmap: ") + strerror(errno));
        return -ENOMEM;
    }
    if (!huge) {
        // Pinning keeps the "pool memory is resident" promise; without CAP_IPC_LOCK or
        // enough RLIMIT_MEMLOCK it fails and the memory is merely populated.
        (void)mlock(p, len);
    }
    out->base = static_cast<uint8_t *>(p);
    out->mapped_bytes = len;
    out->backing = huge ? PoolConfig::Backing::kHugeMmap : PoolConfig::Backing::kAnonMmap;
    return 0;
}

}  // namespace

PoolMemory::~PoolMemory() {
    if (memzone != nullptr) rte_memzone_free(memzone);
    if (mapped_bytes != 0) munmap(base, mapped_bytes);
}

int obtain_pool_memory(const PoolConfig &config, size_t bytes, PoolMemory *out,
                       std::string *error) {
    using Backing = PoolConfig::Backing;
    int rc;
    switch (config.backing) {
        case Backing::kEal: rc = from_memzone(config, bytes, out, error); break;
        case Backing::kHugeMmap: rc = from_mmap(bytes, true, out, error); break;
        case Backing::kAnonMmap: rc = from_mmap(bytes, false, out, error); break;
        default:
            if (eal_running()) {
                rc = from_memzone(config, bytes, out, error);
            } else if (from_mmap(bytes, true, out, nullptr) == 0) {
                rc = 0;
            } else {
                rc = from_mmap(bytes, false, out, error);
            }
            break;
    }
    if (rc < 0) return rc;
    out->bytes = bytes;
    out->bpage_iova.assign(bytes / kBpageSize, kBadIova);
    if (out->backing == Backing::kEal) {
        for (size_t i = 0; i < out->bpage_iova.size(); ++i) {
            out->bpage_iova[i] = bpage_iova(out->base + i * kBpageSize);
        }
    }
    return 0;
}

}  // namespace homa::mem
