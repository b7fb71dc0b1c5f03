// Private to mem/: obtaining the memory behind a BpagePool (memzone, hugetlb mmap, anonymous
// mmap) and the IOVA of each bpage. Kept apart from the allocator so that the allocator is
// plain C++ over a byte range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "homa/mem/bpage_pool.h"

struct rte_memzone;

namespace homa::mem {

/** The memory of one pool; frees it on destruction. */
struct PoolMemory {
    uint8_t *base = nullptr;
    size_t bytes = 0;  ///< Usable bytes: a multiple of kBpageSize.
    PoolConfig::Backing backing = PoolConfig::Backing::kAuto;
    const rte_memzone *memzone = nullptr;  ///< kEal only.
    size_t mapped_bytes = 0;               ///< mmap backings: length passed to mmap.
    std::vector<uint64_t> bpage_iova;      ///< One per bpage; kBadIova when unknown.

    PoolMemory() = default;
    PoolMemory(const PoolMemory &) = delete;
    PoolMemory &operator=(const PoolMemory &) = delete;
    ~PoolMemory();
};

/**
 * Fills `out` with `bytes` (a multiple of kBpageSize) of memory of the configured backing.
 * Returns 0, or a negative errno with a message in *error: -ENODEV (kEal without EAL),
 * -ENOMEM (memzone reservation or mmap failed).
 */
int obtain_pool_memory(const PoolConfig &config, size_t bytes, PoolMemory *out, std::string *error);

}  // namespace homa::mem
