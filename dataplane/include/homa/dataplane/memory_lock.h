/**
 * @file
 * Locking the dataplane's memory so the kernel cannot page it out while it is idle.
 *
 * Why: memory that the dataplane touches only now and then costs a page fault each time it is
 * touched again after the kernel took it, and the first time it is touched at all. Measured on
 * a memif pair at 200 RPC/s: each process took ~850 minor faults in 3 s, nearly all on the
 * memif shared region's buffer pages, whose rings a slow stream walks into one fresh page per
 * packet; and on machines that run proactive reclaim (DAMON's pageout scheme) the file-backed
 * code pages of an idle poller are dropped and read back on the next lone RPC
 * (docs/perf.md, "The baseline under the ratios"). Many DPDK applications lock for this reason.
 *
 * The lock is mlockall(MCL_CURRENT | MCL_FUTURE), as Open vSwitch's --mlockall does: what is
 * mapped now and everything mapped later (memif's regions appear only when the peer connects)
 * is faulted in at once and stays. The cost is start-up time and resident memory: with
 * --no-huge, EAL's whole -m is touched at lock time. Mappings that must stay evictable opt out
 * with munlock (the pager does, homa/mem/pager.h); so does PROT_NONE address space (EAL's
 * reservations), which mlock leaves untouched.
 *
 * Threading: call from the main thread after rte_eal_init and before the worker lcores
 * start polling (a lock taken later still works, but the pages already lost stay lost).
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace homa::dp {

/** What the caller asked for. */
enum class MemoryLockMode {
    kOff,   ///< never lock
    kAuto,  ///< lock when the process may lock without limit; otherwise explain and go on
    kOn,    ///< lock, and fail if it cannot
};

/**
 * Parses "off", "auto" or "on" (the apps' --lock_memory values).
 * Returns false, leaving *mode alone, for anything else.
 */
bool parse_memory_lock_mode(std::string_view text, MemoryLockMode *mode);

/** What the process may lock, read from /proc/self/status and getrlimit. */
struct MemoryLockRights {
    bool cap_ipc_lock = false;     ///< CAP_IPC_LOCK is in the effective set (limit ignored)
    uint64_t limit_bytes = 0;      ///< RLIMIT_MEMLOCK soft limit
    bool limit_unlimited = false;  ///< RLIMIT_MEMLOCK is RLIM_INFINITY
    bool sanitizer_build = false;  ///< built with AddressSanitizer (its shadow is terabytes)
    /** True if mlockall cannot run into RLIMIT_MEMLOCK, now or on a later mapping. */
    bool unlimited() const { return cap_ipc_lock || limit_unlimited; }
};

/** Reads the rights of the calling process. Never fails: unknown means "no capability". */
MemoryLockRights memory_lock_rights();

/**
 * True if the "CapEff:" line of a /proc/<pid>/status text has capability bit `cap` set.
 * False when the line is missing or malformed. Pure; exposed for tests.
 */
bool status_has_effective_cap(std::string_view status_text, unsigned cap);

/** What lock_memory did. */
struct MemoryLockResult {
    int rc = 0;           ///< 0, or a negative errno when kOn could not lock
    bool locked = false;  ///< the process's memory is now locked
    std::string message;  ///< one line for the log: what was done, or why not and what to change
};

/**
 * Applies `mode` to the calling process with the given rights (pass memory_lock_rights()).
 * - kOff: does nothing; locked=false.
 * - kAuto: locks only when rights.unlimited() and not a sanitizer build, because with a
 *   finite RLIMIT_MEMLOCK, MCL_FUTURE makes every later mapping past the limit fail (EAGAIN),
 *   which would turn into allocation failures far from here. Otherwise rc=0, locked=false and
 *   the message says why and how to allow it.
 * - kOn: always tries; a refusal is rc=-errno (-ENOMEM: the limit, -EPERM: not allowed,
 *   -EOPNOTSUPP: a sanitizer build) with a message naming the limit and the fix.
 * On any failure the process is left unlocked (munlockall), never half-locked.
 */
MemoryLockResult lock_memory(MemoryLockMode mode, const MemoryLockRights &rights);

}  // namespace homa::dp
