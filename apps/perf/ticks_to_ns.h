// TSC ticks to nanoseconds for per-RPC figures: one 64x64->128 multiply by a fixed-point
// 10^9 / hz, where `ticks * 1'000'000'000 / hz` divided per RPC and overflowed past 2^64 / 10^9
// ticks (8.8 s at 2.1 GHz): an RTT or arrival time beyond that came out near zero, which
// hid exactly the tail a long or overloaded run is for. Any thread; no allocation.
#pragma once

#include <cstdint>

namespace homa::perf {

class TicksToNs {
  public:
    /** hz: ticks per second, > 0 (rte_get_tsc_hz(); an ARM generic timer's tens of MHz too). */
    explicit TicksToNs(uint64_t hz) noexcept {
        // The finest fixed point whose multiplier still fits 64 bits.
        while ((((Wide{1'000'000'000} << shift_) / hz) >> 64) != 0) --shift_;
        ns_per_tick_ = static_cast<uint64_t>((Wide{1'000'000'000} << shift_) / hz);
    }
    /** ticks * 10^9 / hz, rounded down, and low by less than 1 ns more per 2^shift_ ticks
     *  (shift_ is 63 at GHz rates, so never in practice). No overflow: the product is taken
     *  in 128 bits, and the result fits 64 bits for any interval under 584 years. */
    uint64_t operator()(uint64_t ticks) const noexcept {
        return static_cast<uint64_t>((Wide{ticks} * ns_per_tick_) >> shift_);
    }

  private:
    __extension__ typedef unsigned __int128 Wide;
    unsigned shift_ = 63;
    uint64_t ns_per_tick_ = 0;
};

}  // namespace homa::perf
