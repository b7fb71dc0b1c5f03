// The futex calls behind Doorbell; see doorbell.h.
#include "homa/dataplane/doorbell.h"

#include <linux/futex.h>
#include <rte_cycles.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace homa::dp {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word is 32 bits");

void Doorbell::wake() noexcept {
    wakes_.fetch_add(1, std::memory_order_relaxed);
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(&asleep_), FUTEX_WAKE_PRIVATE, 1, nullptr,
            nullptr, 0);
}

uint64_t Doorbell::wait(uint64_t timeout_ns) noexcept {
    const uint64_t start = rte_get_timer_cycles();
    const timespec ts{static_cast<time_t>(timeout_ns / 1000000000u),
                      static_cast<long>(timeout_ns % 1000000000u)};
    // Returns at once (EAGAIN) if ring() already cleared the word: that is the race lost
    // gracefully. EINTR and spurious wake-ups just end this sleep early.
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(&asleep_), FUTEX_WAIT_PRIVATE, 1, &ts, nullptr,
            0);
    return (rte_get_timer_cycles() - start) * 1000000000u / rte_get_timer_hz();
}

}  // namespace homa::dp
