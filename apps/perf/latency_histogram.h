// A fixed-size log-linear latency histogram (about 1 % resolution from 1 ns to minutes):
// recording is a few instructions and never allocates, so it can sit on the worker lcore.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace homa::perf {

class LatencyHistogram {
  public:
    static constexpr int kSubBits = 7;  // 128 linear steps per power of two: < 1 % error
    static constexpr int kBuckets = 64 << kSubBits;

    void record(uint64_t ns) noexcept;
    void merge(const LatencyHistogram &o) noexcept;
    uint64_t count() const noexcept { return count_; }
    uint64_t min() const noexcept { return count_ ? min_ : 0; }
    uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? double(sum_) / double(count_) : 0; }
    /** Value at quantile q in [0, 1] (upper edge of its bucket, clamped to max). */
    uint64_t quantile(double q) const noexcept;
    /** Calls fn(upper_edge, count) for every non-empty bucket, in increasing order (the
     *  upper edge is clamped to max, as quantile() does). For CDF dumps; not the datapath. */
    template <typename F>
    void for_each_bucket(F &&fn) const {
        for (int i = 0; i < kBuckets; ++i) {
            uint64_t c = counts_[static_cast<std::size_t>(i)];
            if (c) fn(upper_edge(i) < max_ ? upper_edge(i) : max_, c);
        }
    }

  private:
    static int index(uint64_t v) noexcept;
    static uint64_t upper_edge(int idx) noexcept;

    std::array<uint64_t, kBuckets> counts_{};
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
};

}  // namespace homa::perf
