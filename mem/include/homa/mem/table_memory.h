// Memory for large lookup tables: an engine's RPC slab (max_rpcs x ~700 bytes, tens of MB at
// 10^5 RPCs), its RPC index, a worker's send slots.
//
// Why: these tables are indexed by RPC, and an RPC is touched again only after every other
// live RPC has been, so at 10^4+ live RPCs every touch lands on a page the TLB has forgotten.
// On 4 KiB pages the RX pipeline at 10^5 live RPCs spent half its cycles in page walks
// (docs/perf.md, "The engine's tables on huge pages"); on 2 MiB pages a 50 MB slab is 25 TLB
// entries. The memory is anonymous with transparent huge pages requested (madvise), so it needs
// neither root nor reserved hugepages; where THP is off ("never") the tables get 4 KiB pages,
// which is correct, only slower, and table_pages() says so.
//
// Threading: any thread. Errors: map_table returns nullptr (errno set by mmap) when the
// address space or memory is exhausted; callers fall back to operator new.
#pragma once

#include <cstddef>

namespace homa::mem {

/** Maps `bytes` (rounded up to 2 MiB) of zeroed, writable memory, 2 MiB aligned, with huge pages
 *  requested. Works under mlockall(MCL_FUTURE) too: the range is mapped inaccessible, advised,
 *  then made writable, so locking faults it in as huge pages, not 4 KiB ones. The caller owns
 *  the memory and gives it back with unmap_table(p, bytes) (the same bytes). */
void *map_table(size_t bytes) noexcept;

/** Releases what map_table(bytes) returned. p may be nullptr. */
void unmap_table(void *p, size_t bytes) noexcept;

/** What kind of pages map_table's memory gets on this machine. */
enum class TablePages {
    kHuge,   ///< THP "always" or "madvise": 2 MiB pages where the kernel has them free.
    kSmall,  ///< THP "never" or absent: 4 KiB pages.
};
TablePages table_pages() noexcept;

/** "huge (2 MiB, transparent)" or "4 KiB (transparent huge pages off)": for start-up logs. */
const char *table_pages_name() noexcept;

}  // namespace homa::mem
