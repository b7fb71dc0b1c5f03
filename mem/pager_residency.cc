// A residency hook for pager memory; see pager_residency.h.
#include "homa/mem/pager_residency.h"

#include <cstdint>

#include "homa/mem/pager.h"

namespace homa::mem {

HookResult pager_residency_hook(void *ctx, const void *addr, size_t len, bool pull,
                                bool *resident) {
    auto *pager = static_cast<Pager *>(ctx);
    const auto *p = static_cast<const uint8_t *>(addr);
    const uint8_t *base = pager->memory();
    if (p < base || len > pager->size_bytes() || p - base > static_cast<ptrdiff_t>(pager->size_bytes() - len)) {
        return HookResult::kContinue;
    }
    *resident = pull && pager->fault_in(static_cast<uint64_t>(p - base), len, false) == 0;
    return HookResult::kDone;
}

}  // namespace homa::mem
