// Memory locking: the mode parser, the capability parser, the decisions lock_memory makes from
// given rights, and real mlockall calls in forked children (a child's lock or limit cannot
// leak into the other tests of this process).
#include "homa/dataplane/memory_lock.h"

#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace homa::dp {
namespace {

TEST(MemoryLock, ParseMode_AcceptsTheThreeWordsOnly) {
    MemoryLockMode m = MemoryLockMode::kAuto;
    EXPECT_TRUE(parse_memory_lock_mode("off", &m));
    EXPECT_EQ(m, MemoryLockMode::kOff);
    EXPECT_TRUE(parse_memory_lock_mode("on", &m));
    EXPECT_EQ(m, MemoryLockMode::kOn);
    EXPECT_TRUE(parse_memory_lock_mode("auto", &m));
    EXPECT_EQ(m, MemoryLockMode::kAuto);
    for (const char *bad : {"", "yes", "ON", "1", "auto "}) {
        m = MemoryLockMode::kOff;
        EXPECT_FALSE(parse_memory_lock_mode(bad, &m)) << bad;
        EXPECT_EQ(m, MemoryLockMode::kOff) << bad;
    }
}

TEST(MemoryLock, EffectiveCapability_ReadFromTheCapEffLine) {
    const std::string root =
        "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
        "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";
    EXPECT_TRUE(status_has_effective_cap(root, 14));
    EXPECT_TRUE(status_has_effective_cap(root, 0));
    EXPECT_FALSE(status_has_effective_cap(root, 41));
    // Permitted but not effective does not count: only CapEff grants the right.
    const std::string dropped = "CapPrm:\t0000000000004000\nCapEff:\t0000000000000000\n";
    EXPECT_FALSE(status_has_effective_cap(dropped, 14));
    EXPECT_TRUE(status_has_effective_cap("CapEff:\t0000000000004000\n", 14));
    EXPECT_FALSE(status_has_effective_cap("CapEff:\t0000000000004000\n", 13));
    EXPECT_FALSE(status_has_effective_cap("CapEff:\t00000000000040zz\n", 14));
    EXPECT_FALSE(status_has_effective_cap("CapEff:\t\n", 14));
    EXPECT_FALSE(status_has_effective_cap("Name:\tCapEff:\t4000\n", 14));
    EXPECT_FALSE(status_has_effective_cap("CapEff:\t00000000000000004000\n", 14));
    EXPECT_FALSE(status_has_effective_cap("", 14));
}

MemoryLockRights limited_rights() {
    MemoryLockRights r;
    r.limit_bytes = 64 << 10;
    return r;
}

TEST(MemoryLock, Off_NeverLocks) {
    MemoryLockRights r;
    r.cap_ipc_lock = true;
    MemoryLockResult res = lock_memory(MemoryLockMode::kOff, r);
    EXPECT_EQ(res.rc, 0);
    EXPECT_FALSE(res.locked);
    EXPECT_NE(res.message.find("--lock_memory=off"), std::string::npos) << res.message;
}

TEST(MemoryLock, AutoWithAFiniteLimit_DoesNotLockAndSaysHowToAllowIt) {
    MemoryLockResult res = lock_memory(MemoryLockMode::kAuto, limited_rights());
    EXPECT_EQ(res.rc, 0);
    EXPECT_FALSE(res.locked);
    EXPECT_NE(res.message.find("RLIMIT_MEMLOCK 64 KiB"), std::string::npos) << res.message;
    EXPECT_NE(res.message.find("ulimit -l unlimited"), std::string::npos) << res.message;
}

TEST(MemoryLock, SanitizerBuild_RefusesOnAndSkipsAuto) {
    MemoryLockRights r;
    r.cap_ipc_lock = true;
    r.sanitizer_build = true;
    MemoryLockResult on = lock_memory(MemoryLockMode::kOn, r);
    EXPECT_EQ(on.rc, -EOPNOTSUPP);
    EXPECT_FALSE(on.locked);
    EXPECT_NE(on.message.find("sanitizer"), std::string::npos) << on.message;
    MemoryLockResult autom = lock_memory(MemoryLockMode::kAuto, r);
    EXPECT_EQ(autom.rc, 0);
    EXPECT_FALSE(autom.locked);
}

// Runs `body` in a forked child and returns its exit status (0 = all its checks held).
int in_child(const std::function<int()> &body) {
    pid_t pid = fork();
    if (pid == 0) _exit(body());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

uint64_t locked_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmLck:", 0) == 0) return std::stoull(line.substr(6));
    }
    return UINT64_MAX;
}

// Clears CAP_IPC_LOCK from the effective set (root's way around RLIMIT_MEMLOCK), so that the
// limit below binds even when the suite runs as root.
bool drop_ipc_lock_capability() {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &hdr, data) != 0) return false;
    data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    return syscall(SYS_capset, &hdr, data) == 0;
}

TEST(MemoryLock, OnBeyondTheLimit_FailsWithENOMEMAndLeavesNothingLocked) {
    int status = in_child([] {
        if (!drop_ipc_lock_capability()) return 1;
        struct rlimit lim {
            64 << 10, 64 << 10
        };
        if (setrlimit(RLIMIT_MEMLOCK, &lim) != 0) return 2;
        MemoryLockRights rights = memory_lock_rights();
        if (rights.cap_ipc_lock || rights.unlimited() || rights.limit_bytes != (64u << 10))
            return 3;
        MemoryLockResult res = lock_memory(MemoryLockMode::kOn, rights);
        if (rights.sanitizer_build) return res.rc == -EOPNOTSUPP ? 0 : 4;
        if (res.rc != -ENOMEM || res.locked) return 5;
        if (res.message.find("Cannot allocate memory") == std::string::npos) return 6;
        if (res.message.find("RLIMIT_MEMLOCK 64 KiB") == std::string::npos) return 7;
        return locked_kib() == 0 ? 0 : 8;
    });
    EXPECT_EQ(status, 0);
}

bool resident(const void *addr, size_t len) {
    std::vector<unsigned char> vec((len + 4095) / 4096);
    if (mincore(const_cast<void *>(addr), len, vec.data()) != 0) return false;
    for (unsigned char v : vec) {
        if ((v & 1) == 0) return false;
    }
    return true;
}

TEST(MemoryLock, AutoWithoutLimit_FaultsInAndLocksLaterMappingsToo) {
    MemoryLockRights here = memory_lock_rights();
    if (!here.unlimited()) {
        GTEST_SKIP() << "needs CAP_IPC_LOCK or RLIMIT_MEMLOCK unlimited (run as root)";
    }
    if (here.sanitizer_build) GTEST_SKIP() << "sanitizer builds never lock (their shadow)";
    int status = in_child([] {
        constexpr size_t kBytes = 8 << 20;
        void *before =
            mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (before == MAP_FAILED || resident(before, kBytes)) return 1;
        MemoryLockResult res = lock_memory(MemoryLockMode::kAuto, memory_lock_rights());
        if (res.rc != 0 || !res.locked) return 2;
        // MCL_CURRENT: what was mapped is resident now, untouched.
        if (!resident(before, kBytes)) return 3;
        // MCL_FUTURE: so is a mapping made after the lock (memif's regions come that way).
        uint64_t locked_before = locked_kib();
        void *after =
            mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (after == MAP_FAILED || !resident(after, kBytes)) return 4;
        if (locked_kib() < locked_before + (kBytes >> 10)) return 5;
        return 0;
    });
    EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace homa::dp
