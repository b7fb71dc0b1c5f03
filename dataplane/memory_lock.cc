#include "homa/dataplane/memory_lock.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOMA_ASAN_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HOMA_ASAN_BUILD 1
#endif

namespace homa::dp {

namespace {

std::string describe_limit(const MemoryLockRights &r) {
    if (r.cap_ipc_lock) return "CAP_IPC_LOCK held";
    if (r.limit_unlimited) return "RLIMIT_MEMLOCK unlimited";
    return "no CAP_IPC_LOCK, RLIMIT_MEMLOCK " + std::to_string(r.limit_bytes >> 10) + " KiB";
}

constexpr const char *kHowToAllow =
    "run as root, or raise the limit (ulimit -l unlimited, or LimitMEMLOCK=infinity in a "
    "systemd unit)";

}  // namespace

bool parse_memory_lock_mode(std::string_view text, MemoryLockMode *mode) {
    if (text == "off") {
        *mode = MemoryLockMode::kOff;
    } else if (text == "auto") {
        *mode = MemoryLockMode::kAuto;
    } else if (text == "on") {
        *mode = MemoryLockMode::kOn;
    } else {
        return false;
    }
    return true;
}

bool status_has_effective_cap(std::string_view status_text, unsigned cap) {
    constexpr std::string_view kKey = "CapEff:";
    size_t at = status_text.find(kKey);
    if (at == std::string_view::npos || cap >= 64) return false;
    // The key must start a line: "CapEffX:" or a value containing it must not match.
    if (at != 0 && status_text[at - 1] != '\n') return false;
    size_t i = at + kKey.size();
    while (i < status_text.size() && (status_text[i] == ' ' || status_text[i] == '\t')) ++i;
    uint64_t bits = 0;
    size_t digits = 0;
    for (; i < status_text.size() && status_text[i] != '\n'; ++i, ++digits) {
        char c = status_text[i];
        unsigned v;
        if (c >= '0' && c <= '9') {
            v = static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v = static_cast<unsigned>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v = static_cast<unsigned>(c - 'A' + 10);
        } else {
            return false;
        }
        if (digits >= 16) return false;
        bits = (bits << 4) | v;
    }
    if (digits == 0) return false;
    return (bits >> cap) & 1;
}

MemoryLockRights memory_lock_rights() {
    MemoryLockRights r;
    std::ifstream in("/proc/self/status");
    std::stringstream text;
    text << in.rdbuf();
    constexpr unsigned kCapIpcLock = 14;  // linux/capability.h
    r.cap_ipc_lock = status_has_effective_cap(text.str(), kCapIpcLock);
    struct rlimit lim {};
    if (getrlimit(RLIMIT_MEMLOCK, &lim) == 0) {
        r.limit_unlimited = lim.rlim_cur == RLIM_INFINITY;
        r.limit_bytes = r.limit_unlimited ? UINT64_MAX : lim.rlim_cur;
    }
#ifdef HOMA_ASAN_BUILD
    r.sanitizer_build = true;
#endif
    return r;
}

MemoryLockResult lock_memory(MemoryLockMode mode, const MemoryLockRights &rights) {
    MemoryLockResult res;
    if (mode == MemoryLockMode::kOff) {
        res.message =
            "memory not locked (--lock_memory=off): the kernel may page an idle "
            "dataplane out";
        return res;
    }
    if (rights.sanitizer_build) {
        res.message = "memory not locked: a sanitizer build's shadow memory cannot be locked";
        if (mode == MemoryLockMode::kOn) res.rc = -EOPNOTSUPP;
        return res;
    }
    if (mode == MemoryLockMode::kAuto && !rights.unlimited()) {
        res.message = "memory not locked (" + describe_limit(rights) +
                      "): the kernel may page an idle dataplane out; to lock it, " + kHowToAllow;
        return res;
    }
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        int err = errno;
        munlockall();
        res.rc = -err;
        res.message = std::string("cannot lock memory: mlockall: ") + strerror(err) + " (" +
                      describe_limit(rights) + "); " + kHowToAllow +
                      ", or pass --lock_memory=auto to run unlocked";
        return res;
    }
    res.locked = true;
    res.message = "memory locked (" + describe_limit(rights) + ")";
    return res;
}

}  // namespace homa::dp
