// A bpage pool for proto tests: whole 64 KiB pages from one heap region, with a capacity limit
// for exhaustion tests (fixed at construction, and an adjustable cap on pages in use), a
// release generation like mem::BpagePool's, and a ledger that proves every page comes back
// exactly once.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <vector>

#include "homa/proto/engine.h"

namespace homa::test {

class FakePool {
public:
    explicit FakePool(uint32_t num_bpages) : memory_(size_t{num_bpages} * wire::kBpageSize) {
        for (uint32_t i = num_bpages; i-- > 0;) free_.push_back(i * wire::kBpageSize);
    }

    PoolOps ops() {
        return PoolOps{this, memory_.data(), &FakePool::alloc_cb, &FakePool::release_cb,
                       &FakePool::generation_cb};
    }

    uint8_t *base() { return memory_.data(); }
    uint32_t in_use() const { return static_cast<uint32_t>(used_.size()); }
    uint32_t free_count() const { return static_cast<uint32_t>(free_.size()); }
    uint64_t failures() const { return failures_; }
    uint64_t generation() const { return generation_; }
    /** At most `n` pages in use at once from now on (UINT32_MAX: no cap). Raising the cap
     *  counts as pages returning (the generation moves). */
    void set_cap(uint32_t n) {
        cap_ = n;
        ++generation_;
    }

    void release(const uint32_t *offsets, uint32_t count) {
        for (uint32_t i = 0; i < count; ++i) {
            if (used_.erase(offsets[i]) != 1) throw std::logic_error("bpage released twice");
            free_.push_back(offsets[i]);
        }
        ++generation_;
    }

private:
    static int alloc_cb(void *ctx, uint32_t length, uint32_t offsets[wire::kMaxBpages]) {
        auto *self = static_cast<FakePool *>(ctx);
        uint32_t n = (length + wire::kBpageSize - 1) / wire::kBpageSize;
        if (n == 0 || n > wire::kMaxBpages) return -EINVAL;
        if (self->free_.size() < n || self->used_.size() + n > self->cap_) {
            ++self->failures_;
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < n; ++i) {
            offsets[i] = self->free_.back();
            self->free_.pop_back();
            self->used_.insert(offsets[i]);
        }
        return static_cast<int>(n);
    }
    static void release_cb(void *ctx, const uint32_t *offsets, uint32_t count) {
        static_cast<FakePool *>(ctx)->release(offsets, count);
    }
    static uint64_t generation_cb(void *ctx) { return static_cast<FakePool *>(ctx)->generation_; }

    std::vector<uint8_t> memory_;
    std::vector<uint32_t> free_;
    std::set<uint32_t> used_;
    uint64_t failures_ = 0;
    uint64_t generation_ = 0;
    uint32_t cap_ = UINT32_MAX;
};

}  // namespace homa::test
