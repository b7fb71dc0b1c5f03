// A bpage pool for proto tests: whole 64 KiB pages from one heap region, with a capacity limit
// for exhaustion tests (fixed at construction, and an adjustable cap on pages in use), a
// release generation like mem::BpagePool's, and a ledger that proves every page comes back
// exactly once. Optionally, messages of at most kSmallSlot bytes take a small slot from a
// second region instead of a whole page, as the real pool carves short messages out of shared
// bpages: that is what lets 10^5 short requests wait at one server.
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
    static constexpr uint32_t kSmallSlot = 512;

    explicit FakePool(uint32_t num_bpages, uint32_t small_slots = 0)
        : memory_(size_t{num_bpages} * wire::kBpageSize + size_t{small_slots} * kSmallSlot) {
        for (uint32_t i = num_bpages; i-- > 0;) free_.push_back(i * wire::kBpageSize);
        small_base_ = num_bpages * wire::kBpageSize;
        for (uint32_t i = small_slots; i-- > 0;)
            free_small_.push_back(small_base_ + i * kSmallSlot);
    }

    /** `tables`: where an engine made with these ops keeps its RPC tables. */
    PoolOps ops(const TableMemory &tables = {}) {
        return PoolOps{this,
                       memory_.data(),
                       &FakePool::alloc_cb,
                       &FakePool::release_cb,
                       &FakePool::generation_cb,
                       tables};
    }

    uint8_t *base() { return memory_.data(); }
    /** Pages and small slots in use. */
    uint32_t in_use() const { return static_cast<uint32_t>(used_.size()) + small_used_; }
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
        if (count == 1 && offsets[0] >= small_base()) {
            if (small_mark_.at((offsets[0] - small_base()) / kSmallSlot) == 0) {
                throw std::logic_error("small slot released twice");
            }
            small_mark_[(offsets[0] - small_base()) / kSmallSlot] = 0;
            free_small_.push_back(offsets[0]);
            --small_used_;
            ++generation_;
            return;
        }
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
        if (length <= kSmallSlot && !self->free_small_.empty()) {
            offsets[0] = self->free_small_.back();
            self->free_small_.pop_back();
            uint32_t slot = (offsets[0] - self->small_base()) / kSmallSlot;
            if (self->small_mark_.size() <= slot) self->small_mark_.resize(slot + 1, 0);
            self->small_mark_[slot] = 1;
            ++self->small_used_;
            return 1;
        }
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

    uint32_t small_base() const { return small_base_; }

    std::vector<uint8_t> memory_;
    std::vector<uint32_t> free_;
    std::vector<uint32_t> free_small_;
    std::vector<uint8_t> small_mark_;  ///< 1 while a small slot is allocated (the ledger).
    uint32_t small_used_ = 0;
    uint32_t small_base_ = 0;
    std::set<uint32_t> used_;
    uint64_t failures_ = 0;
    uint64_t generation_ = 0;
    uint32_t cap_ = UINT32_MAX;
};

}  // namespace homa::test
