// The apps' --lock_memory flag (auto|on|off), shared by homa-dp and homa-perf.
#pragma once

#include <string>

#include "homa/dataplane/memory_lock.h"

namespace homa::apps {

/**
 * --lock_memory as a mode, for a host that locks when it comes up (homa::v2::HostOptions::
 * lock_memory). Any thread, after flag parsing. False with *error naming the flag when its
 * value is not auto, on or off.
 */
bool lock_memory_mode_from_flag(homa::dp::MemoryLockMode *mode, std::string *error);

/**
 * Applies --lock_memory to this process (homa/dataplane/memory_lock.h), and prints one line
 * to stderr, prefixed with `app`, saying what was done or why not.
 * Main thread, after rte_eal_init and flag parsing, before the workers start.
 * Returns true on success (also when auto decides not to lock); false with *error set when the
 * flag's value is bad or --lock_memory=on could not lock. *locked says whether it is locked.
 */
bool apply_lock_memory_flag(const char *app, bool *locked, std::string *error);

}  // namespace homa::apps
