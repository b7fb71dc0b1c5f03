/**
 * @file
 * A doorbell lets a mostly idle lcore (the control lcore) sleep long, so that it costs the
 * core it shares nearly nothing, and still wake at once when work arrives: the sleeper
 * announces that it is asleep, and a sender that finds it asleep after enqueuing wakes it
 * with one futex call. While the sleeper is awake, ring() is a fence and a load: no syscall.
 *
 * @code
 *   // sender (a worker), after send_msg() succeeded:
 *   bell.ring();
 *   // sleeper, with nothing to do:
 *   bell.sleep([&] { return port->has_input(); }, 5000000);
 * @endcode
 *
 * No wake-up is lost: the sleeper publishes "asleep" and then looks for work, the sender
 * publishes its work and then looks for "asleep", each with a full fence in between, so at
 * least one of them sees the other (Dekker). A sender that does not ring (do_msg() on the
 * port, an abort) is still seen, at the latest when the sleep times out.
 *
 * Threading: any number of threads may ring(); one thread sleeps.
 */
#pragma once

#include <atomic>
#include <cstdint>

namespace homa::dp {

class Doorbell {
  public:
    /** Wakes the sleeper if it is asleep. Any thread; call after publishing the work. */
    void ring() noexcept {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (asleep_.load(std::memory_order_relaxed) != 0 && asleep_.exchange(0) != 0) wake();
    }

    /**
     * Sleeps up to `timeout_ns` unless `has_work()` (asked after announcing the sleep) finds
     * work, or until ring() is called. Returns the nanoseconds it slept (0 if it did not).
     * The sleeper's thread only.
     */
    template <class HasWork>
    uint64_t sleep(HasWork has_work, uint64_t timeout_ns) noexcept {
        asleep_.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (has_work()) {
            asleep_.store(0, std::memory_order_relaxed);
            return 0;
        }
        uint64_t slept = wait(timeout_ns);
        asleep_.store(0, std::memory_order_relaxed);
        return slept;
    }

    /** True while the sleeper has announced a sleep. Any thread (a snapshot). */
    bool asleep() const noexcept { return asleep_.load(std::memory_order_acquire) != 0; }

    /** Times ring() had to wake the sleeper (a futex call each). Any thread, approximate. */
    uint64_t wakes() const noexcept { return wakes_.load(std::memory_order_relaxed); }

  private:
    void wake() noexcept;
    uint64_t wait(uint64_t timeout_ns) noexcept;

    alignas(64) std::atomic<uint32_t> asleep_{0};  // the futex word
    std::atomic<uint64_t> wakes_{0};
};

}  // namespace homa::dp
