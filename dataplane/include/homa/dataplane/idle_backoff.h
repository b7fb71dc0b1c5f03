/**
 * @file
 * How an lcore that is usually idle (the control lcore) waits without costing the lcore it
 * shares a core with: spin with rte_pause for a while (instant wake-up after a burst of work),
 * then sched_yield (the core goes to whoever else is runnable), then nanosleep a bounded time
 * per idle poll (the wake-up latency is bounded by that sleep plus the scheduler's delay).
 *
 * @code
 *   homa::dp::IdleBackoff backoff({});
 *   while (!quit) {
 *       if (poll_once()) backoff.reset(); else backoff.idle();
 *   }
 * @endcode
 *
 * Threading: an IdleBackoff belongs to the loop that uses it; nothing is shared.
 */
#pragma once

#include <cstdint>

namespace homa::dp {

/** The three phases; a phase of length 0 is skipped. */
struct BackoffConfig {
    uint32_t spin_polls = 2000;   ///< Idle polls answered with rte_pause().
    uint32_t yield_polls = 200;   ///< Then this many with sched_yield().
    uint32_t sleep_ns = 50000;    ///< Then each idle poll sleeps this long (0: keep yielding).
};

class IdleBackoff {
public:
    /** Which phase the next idle() call is in. */
    enum class Phase : uint8_t { kSpin, kYield, kSleep };

    explicit IdleBackoff(const BackoffConfig &config) noexcept : config_(config) {}

    /** Work was done: the next idle poll spins again. */
    void reset() noexcept { idle_polls_ = 0; }

    /**
     * One idle poll's wait. Returns the nanoseconds spent sleeping (0 in the spin and yield
     * phases), measured, so that callers can report how long sleeps really take.
     */
    uint64_t idle() noexcept;

    /** The phase the next idle() call will use. */
    Phase phase() const noexcept {
        if (idle_polls_ < config_.spin_polls) return Phase::kSpin;
        if (idle_polls_ - config_.spin_polls < config_.yield_polls || config_.sleep_ns == 0) {
            return Phase::kYield;
        }
        return Phase::kSleep;
    }

private:
    BackoffConfig config_;
    uint32_t idle_polls_ = 0;
};

}  // namespace homa::dp
