/**
 * @file
 * How an lcore that is usually idle (the control lcore) waits without costing the lcore it
 * shares a core with: spin with rte_pause for a while (instant wake-up after a burst of work),
 * then sched_yield (the core goes to whoever else is runnable), then nanosleep, starting at
 * sleep_ns and doubling per idle poll up to max_sleep_ns (the wake-up latency is bounded by
 * max_sleep_ns plus the scheduler's delay).
 *
 * Why the sleep grows: every wake-up costs its core a few microseconds (timer, context switch;
 * more in a VM), taken from the worker it shares a core with. bench_msgport measured, on the
 * 2-core VM: a fixed 50 us sleep ~16,000 wake-ups/s, ~12% of the core; a cap of 1 ms brings
 * that down to ~1,000/s. A request that arrives while the loop is hot is seen at once.
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

#include "homa/dataplane/doorbell.h"

namespace homa::dp {

/** The three phases; a phase of length 0 is skipped. */
struct BackoffConfig {
    uint32_t spin_polls = 2000;       ///< Idle polls answered with rte_pause().
    uint32_t yield_polls = 200;       ///< Then this many with sched_yield().
    uint32_t sleep_ns = 50000;        ///< First sleep (0: never sleep, keep yielding).
    uint32_t max_sleep_ns = 1000000;  ///< Sleeps double up to this (<= sleep_ns: fixed).
};

class IdleBackoff {
  public:
    /** Which phase the next idle() call is in. */
    enum class Phase : uint8_t { kSpin, kYield, kSleep };

    explicit IdleBackoff(const BackoffConfig &config) noexcept
        : config_(config), next_sleep_ns_(config.sleep_ns) {}

    /** Work was done: the next idle poll spins again and the next sleep is short again. */
    void reset() noexcept {
        idle_polls_ = 0;
        next_sleep_ns_ = config_.sleep_ns;
    }

    /** How long the next sleep will be asked to last. */
    uint32_t next_sleep_ns() const noexcept { return next_sleep_ns_; }

    /**
     * One idle poll's wait. Returns the nanoseconds spent sleeping (0 in the spin and yield
     * phases), measured, so that callers can report how long sleeps really take.
     */
    uint64_t idle() noexcept;

    /**
     * The same, but the sleep phase sleeps on `bell` (see doorbell.h): a sender that rings it
     * ends the sleep at once, so the sleeps may be long. `has_work()` is asked after the
     * sleep is announced; true cancels it.
     */
    template <class HasWork>
    uint64_t idle(Doorbell &bell, HasWork has_work) noexcept {
        if (phase() != Phase::kSleep) return idle();
        return bell.sleep(has_work, take_sleep());
    }

    /** The phase the next idle() call will use. */
    Phase phase() const noexcept {
        if (idle_polls_ < config_.spin_polls) return Phase::kSpin;
        if (idle_polls_ - config_.spin_polls < config_.yield_polls || config_.sleep_ns == 0) {
            return Phase::kYield;
        }
        return Phase::kSleep;
    }

  private:
    /** The next sleep's length; doubles the one after, up to the cap. */
    uint32_t take_sleep() noexcept {
        const uint32_t asked = next_sleep_ns_;
        if (next_sleep_ns_ < config_.max_sleep_ns) {
            next_sleep_ns_ = next_sleep_ns_ > config_.max_sleep_ns / 2 ? config_.max_sleep_ns
                                                                       : next_sleep_ns_ * 2;
        }
        return asked;
    }

    BackoffConfig config_;
    uint32_t idle_polls_ = 0;
    uint32_t next_sleep_ns_;
};

}  // namespace homa::dp
