/**
 * @file
 * A pager over a user-supplied backing store (after the Hurd's libpager): memory that is not
 * pinned — a file, a remote object — takes part in zero-copy sends. The pager owns a region
 * of memory, one slot per page of the object, and moves pages between it and the backing
 * store through the callbacks in PagerBackingStore.
 *
 * Faults are explicit: pages come in through fault_in() or safe_memcpy(), never through a
 * SIGSEGV handler (see DESIGN NOTES in pager.cc). A backing-store failure therefore becomes
 * an error code — from safe_memcpy(), fault_in(), the operations, and get_error(offset) —
 * and never a crash.
 *
 * Page states (per page, the legal moves):
 *   kAbsent --fault / offer_page--> kClean or kDirty (offer with precious)
 *   kAbsent --fault fails--> kError --fault succeeds--> kClean
 *   kClean --write--> kDirty --sync / return (write ok)--> kClean / kAbsent
 *   kDirty --write_page fails--> kDirty (error recorded; data kept)
 *   any --flush--> kAbsent (dirty data discarded: flush never writes)
 *
 * @code
 *   homa::mem::PagerBackingStore store{.ctx = &obj, .read_page = obj_read, ...};
 *   auto pager = homa::mem::Pager::create(store, {}, &err);
 *   char buf[100];
 *   auto r = pager->safe_memcpy(5000, buf, sizeof(buf), homa::mem::CopyDirection::kFromPager);
 *   if (r.error != 0) fprintf(stderr, "read failed after %zu bytes: %d\n", r.copied, r.error);
 *   pager->return_all(true);   // write back dirty pages and drop everything
 * @endcode
 *
 * Threading: every member function may be called from any thread. One internal mutex guards
 * the page table; it is NOT held while read_page / read_pages run (a page being read is marked
 * busy instead), so reads of different pages overlap: several callers at once, and within one
 * fault_in() up to PagerConfig::io_threads reads of io_batch_pages pages each. The other
 * callbacks (write_page, unlock_page, notify_evict) run with the mutex held. No callback may
 * call back into the pager. Operations with `wait` false go to the worker threads when
 * start_workers() was called, else they run at once. Neither may be used on a worker lcore:
 * they block on the backing store.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace homa::mem {

/**
 * The backing store (libpager's pager_* user callbacks). Every int result is 0 or a negative
 * errno. All callbacks but read_pages are required.
 */
struct PagerBackingStore {
    void *ctx = nullptr;
    /**
     * Fill `buf` (page_size bytes) with page `page`. Set `*write_lock` to true if the page
     * must be unlocked (unlock_page) before it is written, e.g. to allocate disk blocks.
     * Runs without the pager's lock, possibly on several threads at once (other pages).
     */
    int (*read_page)(void *ctx, uint64_t page, void *buf, bool *write_lock) = nullptr;
    /**
     * Optional (nullptr: read_page per page): fill `buf` (count * page_size bytes) with pages
     * [first, first + count) in one backing-store read. On error no page of the run counts as
     * read. `*write_lock` applies to every page of the run. Threading as read_page.
     */
    int (*read_pages)(void *ctx, uint64_t first, uint64_t count, void *buf,
                      bool *write_lock) = nullptr;
    /** Store page `page` (page_size bytes in `buf`). */
    int (*write_page)(void *ctx, uint64_t page, const void *buf) = nullptr;
    /** Allow writes to a page that read_page returned write-locked. */
    int (*unlock_page)(void *ctx, uint64_t page) = nullptr;
    /** The object's size in bytes; asked once, by Pager::create. */
    int (*report_extent)(void *ctx, uint64_t *size) = nullptr;
    /** Page `page` left the pager's memory (flush, return, or a non-caching copy). */
    void (*notify_evict)(void *ctx, uint64_t page) = nullptr;
    /** The pager is shutting down: release what ctx holds. Called exactly once. */
    void (*clear_user_data)(void *ctx) = nullptr;
};

/** Pager settings; the last two can be changed with change_attributes(). */
struct PagerConfig {
    /** Power of two, at least the system page size. */
    size_t page_size = 4096;
    /** false: pages a safe_memcpy brought in are returned (written back, dropped) after it. */
    bool may_cache = true;
    /** true: pages a safe_memcpy dirtied are written back before it returns. */
    bool write_through = false;
    /**
     * Threads that read for fault_in() (started by create, stopped by shutdown). 0: the
     * caller reads, one run after the other (still without the lock, so other callers
     * overlap with it). With n > 0 the absent pages of one fault_in() are read n runs at a
     * time; the caller waits.
     */
    unsigned io_threads = 0;
    /** Pages per backing-store read in fault_in() (a run of absent pages is cut there). */
    unsigned io_batch_pages = 16;
    /**
     * Nice value of the I/O threads (0..19; setpriority on each). Above 0 they yield the CPU
     * to busy-polling lcores that share their cores: the reads take longer, the pollers are
     * interrupted less. A value the kernel refuses is ignored (the threads run at 0).
     */
    int io_nice = 0;
};

/** State of one page of pager memory. */
enum class PageState : uint8_t { kAbsent, kClean, kDirty, kError };

/** Direction of safe_memcpy. */
enum class CopyDirection { kFromPager, kToPager };

/** Result of safe_memcpy: error 0 or a negative errno, and the bytes copied before it. */
struct CopyResult {
    int error = 0;
    size_t copied = 0;
};

/** A pager; see the file comment. */
class Pager {
  public:
    /**
     * Creates a pager; asks report_extent once and maps memory for that many bytes.
     * @return the pager, or nullptr with *error set (if error is not nullptr) when a
     *         callback is missing, page_size is not a power of two >= the system page size,
     *         report_extent fails, or the memory cannot be mapped.
     * Ownership: `store.ctx` stays the caller's; clear_user_data tells it to let go.
     */
    static std::unique_ptr<Pager> create(const PagerBackingStore &store, const PagerConfig &config,
                                         std::string *error);

    /** Calls shutdown() if it has not run, then unmaps the memory. */
    ~Pager();
    Pager(const Pager &) = delete;
    Pager &operator=(const Pager &) = delete;

    /**
     * The pager's memory: byte i of the object lives at memory()[i] while its page is
     * present. Read it directly only after fault_in(); it stays valid until the page is
     * flushed or returned. Writes must go through safe_memcpy (so pages become dirty).
     */
    const uint8_t *memory() const noexcept;
    /** The object's size in bytes (report_extent's answer). */
    uint64_t size_bytes() const noexcept;
    size_t page_size() const noexcept;
    uint64_t num_pages() const noexcept;
    /** State of `page`; kAbsent for a page out of range. */
    PageState page_state(uint64_t page) const;

    /**
     * Brings in every page of [offset, offset + len) (read_page for absent ones; with
     * `for_write`, unlock_page for write-locked ones).
     * Pages another thread is reading are waited for, not read twice.
     * @return 0; -EINVAL if the range leaves the object; -ESHUTDOWN after shutdown; the
     *         backing store's error for the first page that failed (later pages may have
     *         been read: runs are read in parallel).
     */
    int fault_in(uint64_t offset, size_t len, bool for_write);

    /**
     * Copies between pager memory at `offset` and `buffer`, faulting pages in on the way
     * (a page that is entirely overwritten is not read first). Stops at the first failure.
     * @return {0, len}; or {error, bytes copied before the failure} with error -EINVAL
     *         (range leaves the object), -ESHUTDOWN, or the backing store's error.
     */
    CopyResult safe_memcpy(uint64_t offset, void *buffer, size_t len, CopyDirection dir);

    /**
     * Writes dirty pages back; they stay present and become clean.
     * @return 0 (also when `wait` is false and the request was queued), -EINVAL for a
     *         range outside the object, -ESHUTDOWN, or the first write_page error (the page
     *         stays dirty; get_error reports it).
     */
    int sync(bool wait);
    int sync_some(uint64_t offset, size_t len, bool wait);
    /** Drops pages without writing them (dirty data is discarded). Errors as sync. */
    int flush(bool wait);
    int flush_some(uint64_t offset, size_t len, bool wait);
    /** Writes dirty pages back, then drops them; a page whose write fails is kept. */
    int return_all(bool wait);
    int return_some(uint64_t offset, size_t len, bool wait);

    /**
     * Supplies page `page` unasked (libpager's pager_offer_page). `precious`: the pager must
     * write it back before dropping it (it becomes dirty). @return 0; -EINVAL for a page out
     * of range; -EBUSY if the page is dirty (its data would be lost); -ESHUTDOWN.
     */
    int offer_page(uint64_t page, const void *data, bool precious, bool write_lock);

    /**
     * Changes may_cache and write_through (see PagerConfig). With may_cache false all
     * present pages are returned now (wait) or by a worker. @return as return_all.
     */
    int change_attributes(bool may_cache, bool write_through, bool wait);

    /**
     * The last backing-store error for the page holding `offset` (0 if none; cleared by a
     * later successful read or write of that page). -EINVAL for an offset out of range.
     */
    int get_error(uint64_t offset) const;

    /**
     * The first non-zero get_error() of the pages covering [offset, offset + len), or 0;
     * -EINVAL for a range outside the object. Takes the lock once and never waits for a
     * backing-store read (the lock is not held across them): cheap enough for an error path
     * on a polling thread.
     */
    int first_error(uint64_t offset, size_t len) const;

    /**
     * Starts `n` worker threads for requests made with wait = false.
     * @return 0, -EINVAL for n == 0, -EALREADY if workers run, -ESHUTDOWN.
     */
    int start_workers(unsigned n);

    /**
     * Waits until every request queued before the call has finished; later requests wait
     * in the queue until resume(). Calls made with wait = true run in their caller and are
     * not held. @return 0, or -EALREADY if already inhibited.
     */
    int inhibit();
    /** Lets queued requests run again. */
    void resume();

    /**
     * Lets queued requests finish, stops the workers, writes back dirty pages, calls
     * clear_user_data; afterwards every operation returns -ESHUTDOWN.
     * @return 0 or the first write_page error (the data of that page is lost).
     */
    int shutdown();

    struct Impl;

  private:
    explicit Pager(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace homa::mem
