// Spin, yield, sleep; see idle_backoff.h.
#include "homa/dataplane/idle_backoff.h"

#include <rte_cycles.h>
#include <rte_pause.h>
#include <sched.h>
#include <time.h>

namespace homa::dp {

uint64_t IdleBackoff::idle() noexcept {
    Phase p = phase();
    if (p != Phase::kSleep) ++idle_polls_;  // saturates at the sleep phase
    switch (p) {
        case Phase::kSpin: rte_pause(); return 0;
        case Phase::kYield: sched_yield(); return 0;
        case Phase::kSleep: break;
    }
    // Measured with the TSC rather than trusted: the kernel adds timer slack and, on a shared
    // core, the time until the scheduler runs us again.
    const uint64_t start = rte_get_timer_cycles();
    const uint32_t asked = take_sleep();
    const timespec ts{static_cast<time_t>(asked / 1000000000u),
                      static_cast<long>(asked % 1000000000u)};
    nanosleep(&ts, nullptr);
    return (rte_get_timer_cycles() - start) * 1000000000u / rte_get_timer_hz();
}

}  // namespace homa::dp
