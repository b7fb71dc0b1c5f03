// Store-then-load ordering between a side that runs on every allocation and one that runs
// rarely, without a full fence on the frequent side.
//
// DESIGN NOTES
// The bpage pool keeps an owner and a lease thief apart Dekker-style: each writes its own flag
// and then reads the other's, and at least one of them must see the other's write. That needs
// a store-load barrier on both sides. A full fence costs tens of cycles per tail allocation
// (two thirds of alloc_message in bench_rx_pipeline's profile), while a takeover happens at
// most once per lease (about 10 ms). So the owner only keeps the compiler from reordering
// (light) and the thief, after its own write, runs membarrier(PRIVATE_EXPEDITED) (heavy): the
// kernel makes every running thread of this process execute a full barrier before the call
// returns, and a thread that is not running passed one when it was switched out. Either the
// owner's flag store is then visible to the thief's read, or the owner's read of the thief's
// write comes after that barrier and sees it.
// membarrier is per process (per address space): both sides must be threads of one process,
// which holds for the pool (its caches live in this process's heap). Where the kernel lacks the
// command (or a sandbox refuses it), or when asked to (PoolConfig::full_fence, for tests),
// light() is a full fence and heavy() is one too: correct, only slower.
#pragma once

#include <atomic>

namespace homa::mem {

class AsymmetricFence {
  public:
    /** Registers this process for membarrier's private expedited command, unless
     *  `full_fence`; falls back to full fences if that fails. Any thread, at setup. */
    explicit AsymmetricFence(bool full_fence) noexcept;

    /** The frequent side: between its store and its load. Any thread; never blocks. */
    void light() const noexcept {
        if (membarrier_) {
            std::atomic_signal_fence(std::memory_order_seq_cst);
        } else {
            std::atomic_thread_fence(std::memory_order_seq_cst);
        }
    }

    /** The rare side: between its store and its load. A system call (about 1-10 us) when
     *  membarrier is used. Any thread of this process. */
    void heavy() const noexcept;

    /** True when light() is only a compiler barrier (membarrier registered). */
    bool uses_membarrier() const noexcept { return membarrier_; }

  private:
    bool membarrier_ = false;
};

}  // namespace homa::mem
