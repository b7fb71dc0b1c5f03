// See latency_histogram.h. Values below 2^kSubBits map one to one; above, a value's bucket is
// its power of two (exponent) and the next kSubBits bits below its top bit.
#include "latency_histogram.h"

#include <algorithm>
#include <bit>

namespace homa::perf {

int LatencyHistogram::index(uint64_t v) noexcept {
    if (v < (1u << kSubBits)) return static_cast<int>(v);
    int top = 63 - std::countl_zero(v);
    int shift = top - kSubBits;
    int sub = static_cast<int>((v >> shift) & ((1u << kSubBits) - 1));
    return std::min((shift + 1) << kSubBits | sub, kBuckets - 1);
}

uint64_t LatencyHistogram::upper_edge(int idx) noexcept {
    if (idx < (1 << kSubBits)) return static_cast<uint64_t>(idx);
    int shift = (idx >> kSubBits) - 1;
    uint64_t sub = static_cast<uint64_t>(idx & ((1 << kSubBits) - 1));
    return (((uint64_t{1} << kSubBits) | sub) << shift) + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(uint64_t ns) noexcept {
    ++counts_[static_cast<size_t>(index(ns))];
    ++count_;
    sum_ += ns;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram &o) noexcept {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
}

uint64_t LatencyHistogram::quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * double(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
        seen += counts_[static_cast<size_t>(i)];
        if (seen >= rank) return std::clamp(upper_edge(i), min_, max_);
    }
    return max_;
}

}  // namespace homa::perf
