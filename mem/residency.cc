// Residency checks and the hook chain; see residency.h.
#include "homa/mem/residency.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "homa/mem/bpage_pool.h"

namespace homa::mem {
namespace {

// glibc answers getpagesize() from memory, without a syscall.
size_t page_size() { return static_cast<size_t>(getpagesize()); }

}  // namespace

bool mincore_resident(const void *addr, size_t len) {
    if (len == 0) return true;
    const size_t pg = page_size();
    uintptr_t start = reinterpret_cast<uintptr_t>(addr) & ~(pg - 1);
    uintptr_t end = reinterpret_cast<uintptr_t>(addr) + len;
    // A fixed vector on the stack: mincore is asked in chunks, nothing is allocated.
    constexpr size_t kChunkPages = 4096;
    unsigned char vec[kChunkPages];
    while (start < end) {
        size_t pages = std::min<size_t>(kChunkPages, (end - start + pg - 1) / pg);
        if (mincore(reinterpret_cast<void *>(start), pages * pg, vec) != 0) return false;
        for (size_t i = 0; i < pages; ++i) {
            if ((vec[i] & 1) == 0) return false;
        }
        start += pages * pg;
    }
    return true;
}

size_t prefault(const void *addr, size_t len) {
    if (len == 0) return 0;
    const size_t pg = page_size();
    uintptr_t p = reinterpret_cast<uintptr_t>(addr) & ~(pg - 1);
    uintptr_t end = reinterpret_cast<uintptr_t>(addr) + len;
    size_t touched = 0;
    for (; p < end; p += pg, ++touched) {
        // volatile: the read must happen even though its value is unused.
        uintptr_t at = std::max(p, reinterpret_cast<uintptr_t>(addr));
        (void)*reinterpret_cast<const volatile uint8_t *>(at);
    }
    return touched;
}

int ResidencyChain::insert(ResidencyHook hook, void *ctx, bool first) {
    if (hook == nullptr) return -EINVAL;
    for (const Entry &e : hooks_) {
        if (e.hook == hook && e.ctx == ctx) return -EEXIST;
    }
    if (hooks_.size() >= kMaxHooks) return -ENOSPC;
    hooks_.insert(first ? hooks_.begin() : hooks_.end(), Entry{hook, ctx});
    return 0;
}

int ResidencyChain::register_first(ResidencyHook hook, void *ctx) {
    return insert(hook, ctx, true);
}

int ResidencyChain::register_last(ResidencyHook hook, void *ctx) {
    return insert(hook, ctx, false);
}

int ResidencyChain::unregister(ResidencyHook hook, void *ctx) {
    auto it = std::find_if(hooks_.begin(), hooks_.end(),
                           [&](const Entry &e) { return e.hook == hook && e.ctx == ctx; });
    if (it == hooks_.end()) return -ENOENT;
    hooks_.erase(it);
    return 0;
}

bool ResidencyChain::ask(const void *addr, size_t len, bool pull) const {
    for (const Entry &e : hooks_) {
        bool resident = false;
        if (e.hook(e.ctx, addr, len, pull, &resident) == HookResult::kDone) return resident;
    }
    if (pool_ != nullptr && pool_->contains(addr, len)) return true;
    if (pull) prefault(addr, len);
    return mincore_resident(addr, len);
}

bool ResidencyChain::in_core(const void *addr, size_t len) const { return ask(addr, len, false); }

bool ResidencyChain::pull(const void *addr, size_t len) const { return ask(addr, len, true); }

}  // namespace homa::mem
