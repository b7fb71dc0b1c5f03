/**
 * @file
 * Timetrace: Linux Homa's debugging instrument, a per-lcore ring of nanosecond event records.
 *
 * A record is (trace clock ticks, static printf format, up to 4 integer arguments). Writing one
 * is a clock read and a few stores into a preallocated ring: no lock, no allocation, no branch
 * but "frozen?". When something goes wrong the host's rings are frozen (TraceFreeze) so that the
 * history leading up to it survives; a FREEZE packet from a peer freezes them too, which is how
 * both ends of a misbehaving RPC keep their traces. The frozen rings are then dumped as text
 * (format_timetraces) and two hosts' dumps merged by apps/timetrace/ttmerge.py.
 *
 * @code
 *   homa::TraceFreeze freeze(tsc_hz);                       // one per host
 *   std::string err;
 *   auto tt = homa::Timetrace::create(1u << 16, freeze, &err); // one per lcore
 *   HOMA_TT(tt.get(), "rx DATA id %u offset %u length %u", id, off, len);  // hot path
 *   freeze.freeze();                                        // any thread
 *   homa::TraceSource src{"w0", tt.get()};
 *   puts(homa::format_timetraces({&src, 1}, freeze, "10.0.0.1").c_str());
 * @endcode
 *
 * Records: arguments are 32 bits (as in Linux; a 64-bit RPC id is recorded as its low 32 bits).
 * Formats must be string literals (the ring keeps the pointer) using only %d %i %u %x %X %o %c
 * and %%, with optional flags and width, at most 4 conversions; a dump prints any other format
 * raw with its arguments appended instead of trusting it to printf.
 *
 * Compiling out: with HOMA_TIMETRACE defined to 0 (meson -Dtimetrace=false) HOMA_TT() expands to
 * nothing executable; rings, freezing and dumps still work (the rings stay empty).
 *
 * Ownership: a Timetrace borrows its TraceFreeze, which must outlive it. Threading: record() only
 * on the ring's owning lcore (one writer); snapshot(), recorded() and the dump functions from any
 * thread at any time (a reader copies the ring and keeps only records the writer cannot have
 * overwritten meanwhile; the slots are accessed through relaxed atomics, which cost the writer
 * nothing on x86). TraceFreeze is thread-safe throughout. Errors: Timetrace::create returns
 * nullptr with a message for a capacity that is not a power of two in [16, 2^22].
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <chrono>
#endif

#ifndef HOMA_TIMETRACE
#define HOMA_TIMETRACE 1
#endif

namespace homa {

/** True when trace_clock() reads the TSC (so rte_get_tsc_hz() is its rate); else nanoseconds. */
#if defined(__x86_64__) || defined(__i386__)
inline constexpr bool kTraceClockIsTsc = true;
#else
inline constexpr bool kTraceClockIsTsc = false;
#endif

/** The trace clock: the TSC on x86 (no serialising fence: ordering within a few cycles does not
 *  matter, speed does), steady_clock nanoseconds elsewhere. Any thread. */
inline uint64_t trace_clock() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
#endif
}

/**
 * The freeze switch of one host, shared by all its rings (every worker's, the control lcore's).
 * Freezing stops every ring at once; unfreezing resumes them (records written before the
 * freeze stay until overwritten). A FREEZE from a peer freezes only once per freeze: it is
 * ignored while frozen and for one second after the last freeze, so that a burst of FREEZE
 * packets (several peers, several workers, retransmitting triggers) cannot make the traces
 * stutter. sync_freeze() also asks every worker sharing this object to send FREEZE to each peer
 * its engine knows, at its next poll (Linux's sync_freeze), from any thread.
 */
class TraceFreeze {
  public:
    /** `ticks_per_second`: the rate of trace_clock() (rte_get_tsc_hz() when kTraceClockIsTsc,
     *  else 1e9). A 0 is taken as 1e9. */
    explicit TraceFreeze(uint64_t ticks_per_second) noexcept
        : ticks_per_second_(ticks_per_second ? ticks_per_second : 1'000'000'000) {}
    TraceFreeze(const TraceFreeze &) = delete;
    TraceFreeze &operator=(const TraceFreeze &) = delete;

    uint64_t ticks_per_second() const noexcept { return ticks_per_second_; }
    bool frozen() const noexcept { return frozen_.load(std::memory_order_relaxed); }
    /** The flag every record() tests (for rings: one load, no call). */
    const std::atomic<bool> &flag() const noexcept { return frozen_; }

    /** Freezes now (an operator, a trigger). Returns false if already frozen. */
    bool freeze(uint64_t now_ticks = trace_clock()) noexcept;
    /** A FREEZE packet from a peer: freezes unless frozen, or frozen less than one second
     *  before `now_ticks` (even if unfrozen since). Returns true if it froze. */
    bool freeze_from_peer(uint64_t now_ticks = trace_clock()) noexcept;
    /** freeze(), then asks every worker of the host to send FREEZE to all its peers. Returns
     *  what freeze() returned (peers are asked either way). */
    bool sync_freeze(uint64_t now_ticks = trace_clock()) noexcept;
    /** Resumes recording. */
    void unfreeze() noexcept { frozen_.store(false, std::memory_order_relaxed); }

    /** trace_clock() of the last freeze (0: never frozen). */
    uint64_t freeze_ticks() const noexcept { return freeze_ticks_.load(std::memory_order_acquire); }
    /** Freezes so far. */
    uint64_t freezes() const noexcept { return freezes_.load(std::memory_order_relaxed); }
    /** Peer FREEZEs ignored (frozen already, or within the hold-off). */
    uint64_t ignored() const noexcept { return ignored_.load(std::memory_order_relaxed); }
    /** Counts sync_freeze() calls; a worker sends FREEZE when it sees this change. */
    uint64_t sync_requests() const noexcept {
        return sync_requests_.load(std::memory_order_acquire);
    }

  private:
    bool freeze_at(uint64_t now_ticks) noexcept;

    alignas(64) std::atomic<bool> frozen_{false};  // read by every record(): its own line
    alignas(64) std::atomic<uint64_t> freeze_ticks_{0};
    std::atomic<uint64_t> freezes_{0};
    std::atomic<uint64_t> ignored_{0};
    std::atomic<uint64_t> sync_requests_{0};
    uint64_t ticks_per_second_;
};

/** One lcore's ring. */
class Timetrace {
  public:
    struct Record {
        uint64_t ticks = 0;            ///< trace_clock() when recorded.
        const char *format = nullptr;  ///< Static printf format (see the file comment).
        uint32_t args[4] = {};
    };

    /** A ring of `records` (a power of two in [16, 2^22]; 32 bytes each), all allocated and
     *  touched now. Returns nullptr and sets `error` otherwise. */
    static std::unique_ptr<Timetrace> create(uint32_t records, TraceFreeze &freeze,
                                             std::string *error);
    Timetrace(const Timetrace &) = delete;
    Timetrace &operator=(const Timetrace &) = delete;

    /** Records an event unless the host is frozen. Owning lcore only; use HOMA_TT(). */
    void record(const char *format, uint32_t a0 = 0, uint32_t a1 = 0, uint32_t a2 = 0,
                uint32_t a3 = 0) noexcept {
        if (frozen_.load(std::memory_order_relaxed)) [[unlikely]]
            return;
        uint64_t i = next_.load(std::memory_order_relaxed);
        Record &r = ring_[i & mask_];
        uint64_t ticks = held_ticks_;
        if (ticks == 0) {
            ticks = trace_clock();
            held_ticks_ = ticks & hold_mask_;  // kept only while the stage clock is on
        }
        store(r.ticks, ticks);
        store(r.format, format);
        store(r.args[0], a0);
        store(r.args[1], a1);
        store(r.args[2], a2);
        store(r.args[3], a3);
        next_.store(i + 1, std::memory_order_release);
    }

    /**
     * The stage clock. The TSC read is most of a record's cost (about 25 cycles on our VMs, more
     * than the rest of the record), and a worker's poll writes several records a few hundred
     * cycles apart. Between begin_stage_clock() and end_stage_clock() a record takes the time of
     * the first record since the last new_stage() (or the begin) instead of reading the clock:
     * one TSC read per stage, not per record. The order of the records stays exact (the ring's
     * order); their times are then the start of their stage, never later than the event.
     * Owning lcore only; cheap (one or two stores).
     */
    void begin_stage_clock() noexcept {
        held_ticks_ = 0;
        hold_mask_ = ~uint64_t{0};
        if (!stage_clock_used_.load(std::memory_order_relaxed))
            stage_clock_used_.store(true, std::memory_order_relaxed);
    }
    /** The next record reads the clock again and starts a new stage. */
    void new_stage() noexcept { held_ticks_ = 0; }
    /** Every record reads the clock again (the default). */
    void end_stage_clock() noexcept {
        held_ticks_ = 0;
        hold_mask_ = 0;
    }
    /** True once begin_stage_clock() was called: some records carry their stage's time (the
     *  dump says so). Any thread. */
    bool stage_clock_used() const noexcept {
        return stage_clock_used_.load(std::memory_order_relaxed);
    }

    uint32_t capacity() const noexcept { return mask_ + 1; }
    /** Records written since creation (the ring keeps the last capacity() - 1 of them). */
    uint64_t recorded() const noexcept { return next_.load(std::memory_order_acquire); }
    TraceFreeze &freeze_state() const noexcept { return freeze_; }
    /** The records still in the ring, oldest first. Any thread (see the file comment). */
    std::vector<Record> snapshot() const;

  private:
    Timetrace(uint32_t records, TraceFreeze &freeze);
    template <typename T>
    static void store(T &slot, T v) noexcept {
        std::atomic_ref<T>(slot).store(v, std::memory_order_relaxed);
    }

    const std::atomic<bool> &frozen_;
    std::atomic<uint64_t> next_{0};
    uint64_t held_ticks_ = 0;  // the stage's time; 0: the next record reads the clock
    uint64_t hold_mask_ = 0;   // all ones while the stage clock is on, else 0
    std::atomic<bool> stage_clock_used_{false};
    uint32_t mask_;
    std::unique_ptr<Record[]> ring_;
    TraceFreeze &freeze_;
};

/** One ring in a host's dump, with the name its lines carry ("w0", "ctl"). */
struct TraceSource {
    std::string name;
    const Timetrace *trace = nullptr;  ///< nullptr: listed as off.
};

/** Formats one record's text (no time, no ring name). */
std::string format_record(const Timetrace::Record &r);

/**
 * A host's text dump: a "# "-prefixed header (format version, host label, clock rate, time
 * reference and its raw clock value, each ring's size and kept records), then every record of
 * every ring merged in
 * time order, one per line: "<time us, 3 decimals> <ring name> <record text>". Times are
 * relative to the last freeze while frozen (negative before it), else to the newest record.
 * Any thread; allocates (not for the datapath).
 */
std::string format_timetraces(std::span<const TraceSource> rings, const TraceFreeze &freeze,
                              const std::string &host);

}  // namespace homa

/** Records into `trace` (a Timetrace*, may be nullptr = off): HOMA_TT(tt, "fmt", args...). */
#if HOMA_TIMETRACE
#define HOMA_TT(trace, ...)                                   \
    do {                                                      \
        if ((trace) != nullptr) (trace)->record(__VA_ARGS__); \
    } while (0)
#else
// Compiled out, yet still type-checked, and its arguments still count as used.
#define HOMA_TT(trace, ...)                      \
    do {                                         \
        if (false) (trace)->record(__VA_ARGS__); \
    } while (0)
#endif
