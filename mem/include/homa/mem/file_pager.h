/**
 * @file
 * A pager over a regular file (pread/pwrite): the file's pages live in pager memory, so the
 * dataplane can transmit from them without copying once they are faulted in.
 *
 * @code
 *   std::string err;
 *   auto file = homa::mem::FilePager::open("/srv/blob", false, {}, &err);
 *   if (!file) { fprintf(stderr, "%s\n", err.c_str()); return; }
 *   if (file->pager().fault_in(0, file->length(), false) == 0)   // control lcore
 *       send_zero_copy(file->data(), file->length());             // worker
 * @endcode
 *
 * The file's size is read once, at open; writes never grow the file (the pager's extent is
 * fixed). A file that shrinks later is not silently zero-filled: a read of a page the file no
 * longer has fails with -ENODATA (the pager records it: get_error, first_error). Reads are
 * one pread per run of pages (PagerBackingStore::read_pages), so with
 * PagerConfig::io_threads several are in flight at once. A file opened read-only hands out its
 * pages write-locked and refuses to unlock them, so a write through safe_memcpy fails with -EROFS
 * instead of failing at write-back. Threading and errors: as Pager.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "homa/mem/pager.h"

namespace homa::mem {

/** A file and the pager over it. Destroying it shuts the pager down and closes the file. */
class FilePager {
  public:
    /**
     * Opens `path` (O_RDWR when `writable`, else O_RDONLY) and creates a pager over it.
     * @return the file pager, or nullptr with *error set (if not nullptr) when open, fstat
     *         or Pager::create fails.
     */
    static std::unique_ptr<FilePager> open(const std::string &path, bool writable,
                                           const PagerConfig &config, std::string *error);
    ~FilePager();
    FilePager(const FilePager &) = delete;
    FilePager &operator=(const FilePager &) = delete;

    /** The pager: fault_in, safe_memcpy, sync, return_all, ... */
    Pager &pager() noexcept { return *pager_; }

    /**
     * The file's bytes in pager memory, for zero-copy transmit: valid for a range after
     * pager().fault_in() succeeded for it, until that range is flushed or returned.
     */
    const uint8_t *data() const noexcept { return pager_->memory(); }
    /** The file's length at open. */
    size_t length() const noexcept { return static_cast<size_t>(pager_->size_bytes()); }
    /**
     * Is the file still what we serve? One fstat: -ENOENT if it was unlinked (nothing can open
     * it any more: "gone"), -ENODATA if it now ends before offset + len (truncated), the
     * fstat error, or 0. `*size_now` (if not nullptr) gets the file's current size when
     * fstat worked. A system call: not on a worker lcore.
     */
    int check_file(uint64_t offset, size_t len, uint64_t *size_now = nullptr) const;
    /**
     * Asks the kernel to drop the file's pages from its page cache (posix_fadvise
     * POSIX_FADV_DONTNEED; fdatasync first when writable). Pager memory is not touched:
     * pager().flush() drops that. Together they make the next read cold. 0 or -errno.
     * A system call: not on a worker lcore.
     */
    int drop_page_cache() const;
    /** Bytes read from the file so far (every read_page / read_pages). Any thread. */
    uint64_t bytes_read() const noexcept;
    /** Pages the pager evicted so far (notify_evict calls). Any thread. */
    uint64_t evictions() const noexcept;

    struct Backing;

  private:
    FilePager(std::unique_ptr<Backing> backing, std::unique_ptr<Pager> pager);
    std::unique_ptr<Backing> backing_;
    std::unique_ptr<Pager> pager_;
};

}  // namespace homa::mem
