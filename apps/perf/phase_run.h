// What the closed and the open loop share while a phase runs: the table of RPCs in flight (one
// slot per RPC, indexed by the cookie, allocated before the loop), the measured window, and the
// bookkeeping of every outcome into the PhaseResult.
//
// Latency counts from an RPC's *intended* start: the scheduled arrival in the open loop, the
// first attempt in the closed loop. An RPC is measured when its intended start falls in the
// window [w0, w1); its outcome is counted whenever it comes (also after w1, in the drain).
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "load_driver.h"
#include "phase.h"
#include "ticks_to_ns.h"

namespace homa::perf {

/** "Full for now": both loops retry the request on a later iteration, not counted as failed. */
inline bool retriable(int rc) { return rc == -ENOBUFS || rc == -ENOMEM || rc == -EAGAIN; }

class PhaseRun {
  public:
    PhaseRun(LoadDriver &driver, const PhaseSpec &spec, uint32_t slots, PhaseResult *result);

    uint64_t hz() const noexcept { return hz_; }
    uint64_t start_tsc() const noexcept { return start_; }
    /** Sets the measured window (TSC). Until called nothing is measured. */
    void set_window(uint64_t w0, uint64_t w1) noexcept;
    bool measured(uint64_t intended) const noexcept { return intended >= w0_ && intended < w1_; }

    /** Starts an RPC of `length` bytes that counts from `intended`; `log_index` is its entry
     *  in spec.log (or UINT32_MAX). Returns 0, -EAGAIN (no free slot), or the driver's
     *  negative errno (then nothing started; the caller decides what a refusal means). */
    int start(uint32_t length, uint64_t intended, uint32_t log_index);
    /** Takes every ready response; returns how many. */
    uint32_t take_responses();
    uint32_t in_flight() const noexcept { return in_flight_; }
    bool slot_free() const noexcept { return !free_.empty(); }

    /** Counts the cycles of one loop iteration that ended at `now` (busy if `work`), and the
     *  packet counter at the window's edges. */
    void account(bool work, uint64_t now);
    /** Records in flight + `backlog` at the window's middle and end (PhaseResult::queued_*). */
    void sample_queue(uint64_t now, uint64_t backlog) noexcept;
    /** A progress line to stderr once a second, if the spec asks for it. */
    void progress(uint64_t now, uint64_t backlog);
    /** Ends the phase: every RPC still in flight is aborted and counted unfinished; fills
     *  elapsed_s, window_s and the cycle and packet figures. */
    void finish();

    /** Marks log entry `i` (if logged) with an outcome. */
    void log_outcome(uint32_t i, Outcome o, uint64_t latency_ns = 0);

  private:
    struct Slot {
        uint64_t intended = 0;
        uint32_t length = 0;
        uint32_t log_index = UINT32_MAX;
        bool busy = false;
    };

    LoadDriver &driver_;
    const PhaseSpec &spec_;
    PhaseResult &r_;
    const uint64_t hz_;
    const TicksToNs to_ns_;
    const uint64_t generation_;  ///< Cookie = generation << 32 | slot.
    std::vector<Slot> slots_;
    std::vector<uint32_t> free_;
    /** take_responses' batch: a member, so that a call that finds nothing does not
     *  initialise it. */
    std::array<Completed, 16> batch_;
    uint64_t start_ = 0;
    uint32_t in_flight_ = 0;
    uint64_t w0_ = UINT64_MAX, w1_ = UINT64_MAX;
    uint64_t last_ = 0;                ///< End of the previous iteration (cycle accounting).
    uint64_t last_measured_done_ = 0;  ///< TSC of the last measured completion.
    uint64_t packets_at_w0_ = 0, packets_at_w1_ = 0;
    bool seen_w0_ = false, seen_w1_ = false;
    bool seen_mid_ = false, seen_end_ = false;
    uint64_t next_progress_ = 0;
};

}  // namespace homa::perf
