// Residency hooks for pager memory; see pager_residency.h.
#include "homa/mem/pager_residency.h"

#include <cstdint>

#include "homa/mem/pager.h"

namespace homa::mem {
namespace {

// The range's offset in the pager's memory, or false if it is not wholly inside it.
bool offset_in(const Pager &pager, const void *addr, size_t len, uint64_t *offset) {
    const auto *p = static_cast<const uint8_t *>(addr);
    const uint8_t *base = pager.memory();
    uint64_t size = pager.size_bytes();
    if (p < base || len > size || static_cast<uint64_t>(p - base) > size - len) return false;
    *offset = static_cast<uint64_t>(p - base);
    return true;
}

bool pull_in(Pager &pager, uint64_t offset, size_t len) {
    return pager.fault_in(offset, len, false) == 0;
}

}  // namespace

HookResult pager_residency_hook(void *ctx, const void *addr, size_t len, bool pull,
                                bool *resident) {
    auto &pager = *static_cast<Pager *>(ctx);
    uint64_t offset;
    if (!offset_in(pager, addr, len, &offset)) return HookResult::kContinue;
    if (pull) {
        *resident = pull_in(pager, offset, len);
        return HookResult::kDone;
    }
    *resident = true;
    if (len == 0) return HookResult::kDone;
    const uint64_t last = (offset + len - 1) / pager.page_size();
    for (uint64_t page = offset / pager.page_size(); page <= last && *resident; ++page) {
        PageState st = pager.page_state(page);
        *resident = st == PageState::kClean || st == PageState::kDirty;
    }
    return HookResult::kDone;
}

HookResult pager_residency_hook_nolock(void *ctx, const void *addr, size_t len, bool pull,
                                       bool *resident) {
    auto &pager = *static_cast<Pager *>(ctx);
    uint64_t offset;
    if (!offset_in(pager, addr, len, &offset)) return HookResult::kContinue;
    *resident = pull && pull_in(pager, offset, len);
    return HookResult::kDone;
}

}  // namespace homa::mem
