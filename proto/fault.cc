// Fault injection: configuration checks and byte corruption (the per-frame sequence is the
// template FaultInjector::pass in fault.h, so it inlines into each user's TX loop).
#include "homa/proto/fault.h"

#include <algorithm>

namespace homa {

bool FaultConfig::validate(std::string *why) const {
    auto fail = [&](const char *m) {
        if (why) *why = m;
        return false;
    };
    for (const FaultRule *r : {&drop, &duplicate, &reorder, &corrupt}) {
        if (!(r->probability >= 0 && r->probability <= 1)) {
            return fail("fault probabilities must be within 0..1");
        }
    }
    if (reorder.probability > 0 && (reorder_depth == 0 || delay_capacity == 0)) {
        return fail("reorder needs reorder_depth and delay_capacity > 0");
    }
    if (corrupt_begin >= corrupt_end) return fail("corrupt_begin must be < corrupt_end");
    return true;
}

FaultInjector::FaultInjector(const FaultConfig &config)
    : cfg_(config),
      drop_(config.drop.seed),
      duplicate_(config.duplicate.seed),
      reorder_(config.reorder.seed),
      corrupt_(config.corrupt.seed) {}

bool FaultInjector::maybe_corrupt(std::span<uint8_t> frame) noexcept {
    if (!corrupt_.coin(cfg_.corrupt.probability)) return false;
    size_t end = std::min<size_t>(frame.size(), cfg_.corrupt_end);
    if (end <= cfg_.corrupt_begin) return false;
    size_t at = cfg_.corrupt_begin + corrupt_.next() % (end - cfg_.corrupt_begin);
    frame[at] ^= static_cast<uint8_t>(1 + corrupt_.next() % 255);  // never a no-op
    ++stats_.corrupted;
    return true;
}

}  // namespace homa
