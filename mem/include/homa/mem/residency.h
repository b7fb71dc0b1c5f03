/**
 * @file
 * Is a message body in core? (after Momentum's message_body_in_core). Before a worker
 * transmits a body that is not in the bpage pool it asks in_core(); if the answer is no, the
 * control lcore calls pull() — which may block on I/O — and the worker sends afterwards.
 * Workers never call pull(): that is why it exists separately.
 *
 * A chain of hooks runs in front of the default answer. Each hook returns kContinue (pass the
 * question on) or kDone (its `*resident` is the answer). With `pull` set a hook should make
 * the range resident (or refuse) instead of only answering. After the hooks: memory of the
 * pool given to set_pool() is resident by construction (no syscall); anything else is asked
 * of the kernel with mincore(), and pull() prefaults it with read-only touches.
 *
 * @code
 *   homa::mem::ResidencyChain chain;
 *   chain.set_pool(pool.get());
 *   chain.register_first(my_cache_hook, my_ctx);
 *   if (!chain.in_core(body, len)) control_port.send(PullRequest{body, len});  // worker
 *   bool ok = chain.pull(body, len);                                           // control lcore
 * @endcode
 *
 * Threading: in_core() and pull() may run on several threads at once. Registration and
 * set_pool() change the chain without synchronisation: do them before the chain is shared,
 * or while no thread is asking. Hooks must be thread-safe if the chain is shared.
 */
#pragma once

#include <cstddef>
#include <vector>

namespace homa::mem {

class BpagePool;

/** What a hook did with a question. */
enum class HookResult {
    kContinue,  ///< No opinion: ask the next hook (or the default).
    kDone,      ///< `*resident` is the answer; no later hook runs.
};

/**
 * A residency hook. `pull` false: answer only. `pull` true: make [addr, addr + len)
 * resident if possible, then answer. `*resident` is read only when kDone is returned.
 */
using ResidencyHook = HookResult (*)(void *ctx, const void *addr, size_t len, bool pull,
                                     bool *resident);

/**
 * True if every page of [addr, addr + len) is in core according to mincore(2). For a file
 * mapping that means "in the page cache", whether or not this process mapped it yet.
 * False when part of the range is not mapped. len 0: true. Any thread; one syscall per 4096
 * pages; no allocation.
 */
bool mincore_resident(const void *addr, size_t len);

/**
 * Faults in [addr, addr + len) by reading one byte per page (a read, so shared file pages
 * are not dirtied). May block on I/O: never call on a worker lcore. The range must be
 * mapped readable (an unmapped page is a SIGSEGV like any read).
 * @return the number of pages touched.
 */
size_t prefault(const void *addr, size_t len);

/** An ordered list of residency hooks in front of the default answer. */
class ResidencyChain {
  public:
    /** Capacity of the chain. */
    static constexpr size_t kMaxHooks = 16;

    /**
     * Adds a hook before all others. The chain keeps `ctx` (not owned) until unregister.
     * Setup only (see Threading above).
     * @return 0; -EINVAL for a null hook; -EEXIST if the same (hook, ctx) is registered;
     *         -ENOSPC when kMaxHooks are registered.
     */
    int register_first(ResidencyHook hook, void *ctx);
    /** Adds a hook after all others. Ownership, threading and errors as register_first. */
    int register_last(ResidencyHook hook, void *ctx);
    /** Removes a hook. Setup only. @return 0, or -ENOENT if (hook, ctx) is not registered. */
    int unregister(ResidencyHook hook, void *ctx);
    /** Number of registered hooks. Setup only. */
    size_t size() const noexcept { return hooks_.size(); }

    /**
     * Memory of `pool` (may be nullptr to forget it) is answered "resident" by the default
     * without a syscall. The pool is not owned: it must outlive the chain or be unset
     * first. Setup only.
     */
    void set_pool(const BpagePool *pool) noexcept { pool_ = pool; }

    /**
     * True if [addr, addr + len) is resident. Any thread, workers included: never blocks on
     * I/O (unless a hook does). Errors: an unmapped range is "not resident".
     */
    bool in_core(const void *addr, size_t len) const;

    /**
     * Makes [addr, addr + len) resident (hooks with pull = true, else prefault()) and
     * returns whether it is resident afterwards. May block: control lcore (or another
     * thread that may wait), never a worker. The range must be mapped readable unless a
     * hook answers for it.
     */
    bool pull(const void *addr, size_t len) const;

  private:
    struct Entry {
        ResidencyHook hook;
        void *ctx;
    };
    int insert(ResidencyHook hook, void *ctx, bool first);
    bool ask(const void *addr, size_t len, bool pull) const;

    std::vector<Entry> hooks_;
    const BpagePool *pool_ = nullptr;
};

}  // namespace homa::mem
