// The receive buffer of a simulated host. homa-sim measures timing, not contents, so every
// bpage this pool hands out is the same 64 KiB of scratch memory: the engine writes each
// message's bytes there (the copy still costs what it costs in the real receive path) and 144
// hosts need 64 KiB each instead of gigabytes. It still counts pages in use against a limit, so
// that a finite receive buffer (and the engine's wait-for-bpages path) can be studied.
//
// Threading: owned by one simulated host. Ownership: the scratch memory lives as long as the
// pool; the engine holds the PoolOps. Errors: alloc returns -ENOMEM past the limit, -EINVAL for
// an impossible length.
#pragma once

#include <cerrno>
#include <cstdint>
#include <vector>

#include "homa/proto/engine.h"

namespace homa::sim {

class ScratchPool {
  public:
    /** At most `max_pages` bpages in use at once. */
    explicit ScratchPool(uint32_t max_pages) : scratch_(wire::kBpageSize), max_pages_(max_pages) {}
    ScratchPool(const ScratchPool &) = delete;
    ScratchPool &operator=(const ScratchPool &) = delete;

    PoolOps ops() {
        return PoolOps{this,        scratch_.data(), &alloc_cb,
                       &release_cb, &generation_cb,  TableMemory{}};
    }
    uint32_t in_use() const noexcept { return in_use_; }
    uint32_t max_in_use() const noexcept { return max_in_use_; }
    uint64_t failures() const noexcept { return failures_; }

  private:
    static int alloc_cb(void *ctx, uint32_t length, uint32_t offsets[wire::kMaxBpages]) {
        auto *self = static_cast<ScratchPool *>(ctx);
        uint32_t n = (length + wire::kBpageSize - 1) / wire::kBpageSize;
        if (n == 0 || n > wire::kMaxBpages) return -EINVAL;
        if (self->in_use_ + n > self->max_pages_) {
            ++self->failures_;
            return -ENOMEM;
        }
        for (uint32_t i = 0; i < n; ++i) offsets[i] = 0;  // all pages alias the scratch page
        self->in_use_ += n;
        if (self->in_use_ > self->max_in_use_) self->max_in_use_ = self->in_use_;
        return static_cast<int>(n);
    }
    static void release_cb(void *ctx, const uint32_t *, uint32_t count) {
        auto *self = static_cast<ScratchPool *>(ctx);
        self->in_use_ -= count;
        ++self->generation_;
    }
    static uint64_t generation_cb(void *ctx) {
        return static_cast<ScratchPool *>(ctx)->generation_;
    }

    std::vector<uint8_t> scratch_;
    uint32_t max_pages_;
    uint32_t in_use_ = 0;
    uint32_t max_in_use_ = 0;
    uint64_t failures_ = 0;
    uint64_t generation_ = 0;
};

}  // namespace homa::sim
