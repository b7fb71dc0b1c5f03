// mem::map_table: 2 MiB-aligned zeroed memory that gets transparent huge pages where the
// kernel offers them, also in a process that locked its memory with mlockall(MCL_FUTURE) (the
// apps' --lock_memory), where a plainly writable mapping would be faulted in on 4 KiB pages.
#include "homa/mem/table_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace homa::mem {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// A field (kB: "Rss", "AnonHugePages") of the mapping that contains p, from /proc/self/smaps;
// -1 if not found.
long smaps_field_kb(const void *p, const std::string &field) {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    auto addr = reinterpret_cast<uintptr_t>(p);
    while (std::getline(smaps, line)) {
        unsigned long lo, hi;
        if (sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
            inside = addr >= lo && addr < hi;
            continue;
        }
        long kb;
        if (inside && line.rfind(field + ":", 0) == 0 &&
            sscanf(line.c_str() + field.size() + 1, "%ld", &kb) == 1) {
            return kb;
        }
    }
    return -1;
}

void touch(void *p, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 4096) static_cast<volatile uint8_t *>(p)[i] = 1;
}

TEST(TableMemory, AlignedZeroedAndWritable) {
    const size_t bytes = 5 * kMiB + 123;
    auto *p = static_cast<uint8_t *>(map_table(bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (2 * kMiB), 0u);
    for (size_t i = 0; i < bytes; i += 4096) ASSERT_EQ(p[i], 0) << i;
    EXPECT_EQ(p[bytes - 1], 0);
    p[0] = 1;
    p[bytes - 1] = 2;
    EXPECT_EQ(p[0] + p[bytes - 1], 3);
    unmap_table(p, bytes);
    EXPECT_EQ(map_table(0), nullptr);
    unmap_table(nullptr, 0);  // no-op
}

TEST(TableMemory, HugePagesWhereTheKernelOffersThem) {
    if (table_pages() != TablePages::kHuge) {
        GTEST_SKIP() << "transparent huge pages are off here: " << table_pages_name();
    }
    const size_t bytes = 16 * kMiB;
    void *p = map_table(bytes);
    ASSERT_NE(p, nullptr);
    touch(p, bytes);
    EXPECT_GT(smaps_field_kb(p, "AnonHugePages"), 0)
        << "a 16 MiB table touched page by page got no huge page";
    unmap_table(p, bytes);
}

// In a child: mlockall(MCL_FUTURE) must not turn the table into 4 KiB pages.
TEST(TableMemory, HugePagesUnderMlockall) {
    if (table_pages() != TablePages::kHuge) {
        GTEST_SKIP() << "transparent huge pages are off here: " << table_pages_name();
    }
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // MCL_FUTURE: what faults a new mapping in at mmap time (the apps' --lock_memory).
        if (mlockall(MCL_FUTURE) != 0) _exit(77);  // no CAP_IPC_LOCK / rlimit
        const size_t bytes = 16 * kMiB;
        void *p = map_table(bytes);
        if (p == nullptr) _exit(2);
        // Nothing resident: mlockall locked nothing (ASan's interceptor makes it a no-op).
        if (smaps_field_kb(p, "Rss") == 0) _exit(78);
        _exit(smaps_field_kb(p, "AnonHugePages") > 0 ? 0 : 1);  // locking faulted it in
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "mlockall not permitted here";
    if (WEXITSTATUS(status) == 78) GTEST_SKIP() << "mlockall locks nothing here (a sanitizer)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: 4 KiB pages under mlockall; 2: map failed";
}

}  // namespace
}  // namespace homa::mem
