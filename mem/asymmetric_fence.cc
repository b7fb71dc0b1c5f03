// See asymmetric_fence.h.
#include "asymmetric_fence.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace homa::mem {
namespace {

long membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0u, 0); }

}  // namespace

AsymmetricFence::AsymmetricFence(bool full_fence) noexcept {
    if (full_fence) return;
    long cmds = membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    // Registering twice (one per pool) is allowed and cheap.
    membarrier_ = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

void AsymmetricFence::heavy() const noexcept {
    if (!membarrier_) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        return;
    }
    // After a successful registration the command fails only on a kernel bug. The other side
    // ran without a fence, so going on would be a silent race: stop loudly instead.
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
        perror("homa::mem: membarrier(PRIVATE_EXPEDITED) failed after registration");
        abort();
    }
}

}  // namespace homa::mem
