#include "apps/common/memory_lock_flag.h"

#include <gflags/gflags.h>

#include <cstdio>

#include "homa/dataplane/memory_lock.h"

DEFINE_string(lock_memory, "auto",
              "lock the process's memory against paging (auto: when allowed without limit, as "
              "root; on: or fail; off: never). An idle dataplane that the kernel pages out pays "
              "page faults on its next RPC");

namespace homa::apps {

bool lock_memory_mode_from_flag(homa::dp::MemoryLockMode *mode, std::string *error) {
    if (!homa::dp::parse_memory_lock_mode(FLAGS_lock_memory, mode)) {
        *error = "bad --lock_memory " + FLAGS_lock_memory + " (want auto, on or off)";
        return false;
    }
    return true;
}

bool apply_lock_memory_flag(const char *app, bool *locked, std::string *error) {
    *locked = false;
    homa::dp::MemoryLockMode mode;
    if (!lock_memory_mode_from_flag(&mode, error)) return false;
    homa::dp::MemoryLockResult res = homa::dp::lock_memory(mode, homa::dp::memory_lock_rights());
    if (res.rc < 0) {
        *error = res.message;
        return false;
    }
    *locked = res.locked;
    fprintf(stderr, "%s: %s\n", app, res.message.c_str());
    return true;
}

}  // namespace homa::apps
