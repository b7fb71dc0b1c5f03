/**
 * @file
 * Fault injection for testing loss recovery: a deterministic decider that drops, duplicates,
 * delays (reorders) and corrupts frames, each with its own probability and seed, and a small
 * fixed-capacity delay line that holds opaque items back by k later items. Pure logic, so the
 * simulated network (tests/fakes/sim_network.h) and the dataplane worker's TX path (rte_mbuf
 * pointers) share it.
 *
 * @code
 *   homa::FaultConfig fc;
 *   fc.drop = {0.05, 7};                       // 5 %, seed 7
 *   fc.reorder = {0.05, 8};
 *   homa::FaultInjector inj(fc);
 *   homa::DelayLine<Frame *> line(64);
 *   for (Frame *f : out) {
 *       inj.pass(f, line, ops);                // ops: drop, bytes, copy, emit (see pass())
 *   }
 *   if (out.empty()) line.flush(emit);         // idle: nothing may wait forever
 * @endcode
 *
 * Ownership: the injector owns nothing; pass() hands each item to exactly one of ops.drop or
 * ops.emit (now or later, through the delay line), and a duplicate made by ops.copy to
 * ops.emit. Threading: one injector and its delay line per thread (e.g. per worker lcore).
 * Errors: FaultConfig::validate names the first bad field; the datapath never fails (a full
 * delay line sends the item on at once, uncounted as reordered).
 */
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace homa {

/** One kind of fault: how often, and the seed of its own random stream. */
struct FaultRule {
    double probability = 0;  ///< 0..1, per frame.
    uint64_t seed = 1;
};

struct FaultConfig {
    FaultRule drop;       ///< The frame vanishes.
    FaultRule duplicate;  ///< The frame is sent twice.
    FaultRule reorder;    ///< The frame is held back until reorder_depth later frames passed.
    FaultRule corrupt;    ///< One byte in [corrupt_begin, corrupt_end) is flipped.
    uint32_t reorder_depth = 3;
    uint32_t delay_capacity = 64;  ///< Frames the delay line may hold at once.
    uint32_t corrupt_begin = 0;    ///< E.g. 14..34 = the IPv4 header of an untagged frame.
    uint32_t corrupt_end = UINT32_MAX;

    /** True if any rule can fire. */
    bool enabled() const noexcept {
        return drop.probability > 0 || duplicate.probability > 0 || reorder.probability > 0 ||
               corrupt.probability > 0;
    }
    /** True if usable; otherwise `why` names the first bad field. */
    bool validate(std::string *why) const;
};

/** What the faults did, per injector. */
struct FaultStats {
    uint64_t frames = 0;  ///< Frames offered to pass().
    uint64_t dropped = 0;
    uint64_t duplicated = 0;
    uint64_t reordered = 0;  ///< Frames held back in the delay line.
    uint64_t corrupted = 0;
};

/** splitmix64: tiny, fast, and the same sequence everywhere for a seed. */
class FaultRng {
  public:
    explicit FaultRng(uint64_t seed = 1) noexcept : state_(seed) {}
    uint64_t next() noexcept {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /** True with probability p. */
    bool coin(double p) noexcept {
        return p > 0 && static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
    }

  private:
    uint64_t state_;
};

/**
 * Holds items back until `depth` later items have passed (fixed capacity, preallocated).
 * Items come out in the order they fall due.
 */
template <typename T>
class DelayLine {
  public:
    explicit DelayLine(uint32_t capacity) {
        slots_.reserve(capacity);
        cap_ = capacity;
    }

    /** Holds `item` for `depth` passes. Returns false (item not taken) when full. */
    bool hold(T item, uint32_t depth) {
        if (slots_.size() >= cap_) return false;
        slots_.push_back({item, depth});
        return true;
    }
    /** One more item went by: emit(item) for every held item now due. */
    template <typename Emit>
    void passed(Emit &&emit) {
        size_t keep = 0;
        for (size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].remaining <= 1) {
                emit(slots_[i].item);
            } else {
                --slots_[i].remaining;
                slots_[keep++] = slots_[i];
            }
        }
        slots_.resize(keep);
    }
    /** Emits everything held (the link went idle, or shutdown). */
    template <typename Emit>
    void flush(Emit &&emit) {
        for (auto &sl : slots_) emit(sl.item);
        slots_.clear();
    }
    size_t size() const noexcept { return slots_.size(); }

  private:
    struct Slot {
        T item;
        uint32_t remaining;
    };
    std::vector<Slot> slots_;
    size_t cap_ = 0;
};

class FaultInjector {
  public:
    explicit FaultInjector(const FaultConfig &config);

    const FaultConfig &config() const noexcept { return cfg_; }
    const FaultStats &stats() const noexcept { return stats_; }

    /** Flips one byte of `frame` inside the configured range if the corrupt rule fires.
     *  Returns true if it did. */
    bool maybe_corrupt(std::span<uint8_t> frame) noexcept;

    /**
     * Runs one item through every fault, in this order: drop; corrupt; duplicate (the copy
     * is emitted at once); reorder (held in `line`) or emit. Then every held item ages by one.
     * `ops` provides: void drop(T), std::span<uint8_t> bytes(T) (the writable frame bytes
     * corruption may touch), bool copy(T, T *out) (false if no copy could be made), and
     * void emit(T).
     */
    template <typename T, typename Ops>
    void pass(T item, DelayLine<T> &line, Ops &&ops) {
        ++stats_.frames;
        if (drop_.coin(cfg_.drop.probability)) {
            ++stats_.dropped;
            ops.drop(item);
            line.passed([&](T t) { ops.emit(t); });
            return;
        }
        if (cfg_.corrupt.probability > 0) maybe_corrupt(ops.bytes(item));
        T dup{};
        if (duplicate_.coin(cfg_.duplicate.probability) && ops.copy(item, &dup)) {
            ++stats_.duplicated;
            ops.emit(dup);
        }
        line.passed([&](T t) { ops.emit(t); });
        if (reorder_.coin(cfg_.reorder.probability) && line.hold(item, cfg_.reorder_depth)) {
            ++stats_.reordered;
            return;
        }
        ops.emit(item);
    }

  private:
    FaultConfig cfg_;
    FaultStats stats_;
    FaultRng drop_, duplicate_, reorder_, corrupt_;
};

}  // namespace homa
