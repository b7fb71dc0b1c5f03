// See table_memory.h.
#include "homa/mem/table_memory.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace homa::mem {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }

}  // namespace

void *map_table(size_t bytes) noexcept {
    if (bytes == 0) return nullptr;
    const size_t len = round_up(bytes);
    // One huge page more than needed, so that a 2 MiB-aligned range fits; the ends are trimmed.
    // PROT_NONE first: under mlockall(MCL_FUTURE) a writable mapping would be faulted in at
    // once, on 4 KiB pages, before the advice below could apply.
    void *raw = mmap(nullptr, len + kHugePage, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    auto start = reinterpret_cast<uintptr_t>(raw);
    uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start) munmap(raw, aligned - start);
    uintptr_t end = start + len + kHugePage;
    if (end > aligned + len) munmap(reinterpret_cast<void *>(aligned + len), end - aligned - len);
    void *p = reinterpret_cast<void *>(aligned);
    // Advice is best effort: without THP the table works on 4 KiB pages.
    (void)madvise(p, len, MADV_HUGEPAGE);
    if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0) {
        munmap(p, len);
        return nullptr;
    }
    return p;
}

void unmap_table(void *p, size_t bytes) noexcept {
    if (p != nullptr && bytes != 0) munmap(p, round_up(bytes));
}

TablePages table_pages() noexcept {
    // "always [madvise] never": the bracketed word is the mode in force.
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f == nullptr) return TablePages::kSmall;
    char line[128] = {};
    bool huge = fgets(line, sizeof(line), f) != nullptr && strstr(line, "[never]") == nullptr;
    fclose(f);
    return huge ? TablePages::kHuge : TablePages::kSmall;
}

const char *table_pages_name() noexcept {
    return table_pages() == TablePages::kHuge ? "huge (2 MiB, transparent)"
                                              : "4 KiB (transparent huge pages off)";
}

}  // namespace homa::mem
