// Statistics counters that one thread writes and others read: a relaxed load and store, no
// locked add (one definition for msgport.cc and control_lcore.cc, so that the two may share a
// unity translation unit).
#pragma once

#include <atomic>
#include <cstdint>

namespace homa::dp {

inline void bump(std::atomic<uint64_t> &counter, uint64_t by = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace homa::dp
