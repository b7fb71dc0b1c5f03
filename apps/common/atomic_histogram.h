// A latency histogram that one thread records into and any thread reads (telemetry): fixed
// log-linear buckets (16 per power of two: within 6.25 %), relaxed atomics, no allocation and
// no read-modify-write on the recording side (one writer).
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace homa::apps {

class AtomicHistogram {
  public:
    static constexpr int kSubBits = 4;
    static constexpr int kBuckets = 64 << kSubBits;

    /** One writer only. */
    void record(uint64_t v) noexcept {
        auto &c = counts_[static_cast<size_t>(index(v))];
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        total_.store(total_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        if (v > max_.load(std::memory_order_relaxed)) max_.store(v, std::memory_order_relaxed);
    }
    uint64_t count() const noexcept { return total_.load(std::memory_order_relaxed); }
    uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }
    /** Upper edge of the bucket holding quantile q in [0, 1], clamped to max; 0 when empty.
     *  Any thread. */
    uint64_t quantile(double q) const noexcept {
        uint64_t n = count();
        if (n == 0) return 0;
        uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(n - 1)) + 1;
        uint64_t seen = 0;
        for (int i = 0; i < kBuckets; ++i) {
            seen += counts_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
            if (seen >= rank) return upper_edge(i) < max() ? upper_edge(i) : max();
        }
        return max();
    }

    static int index(uint64_t v) noexcept {
        if (v < (1u << kSubBits)) return static_cast<int>(v);
        int msb = 63 - std::countl_zero(v);
        int shift = msb - kSubBits;
        return ((shift + 1) << kSubBits) + static_cast<int>((v >> shift) & ((1u << kSubBits) - 1));
    }
    static uint64_t upper_edge(int idx) noexcept {
        if (idx < (1 << kSubBits)) return static_cast<uint64_t>(idx);
        int shift = (idx >> kSubBits) - 1;
        uint64_t sub = static_cast<uint64_t>(idx & ((1 << kSubBits) - 1));
        return (((uint64_t{1} << kSubBits) + sub + 1) << shift) - 1;
    }

  private:
    std::array<std::atomic<uint64_t>, kBuckets> counts_{};
    std::atomic<uint64_t> total_{0};
    std::atomic<uint64_t> max_{0};
};

}  // namespace homa::apps
