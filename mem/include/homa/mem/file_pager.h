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
 * fixed). A file opened read-only hands out its pages write-locked and refuses to unlock
 * them, so a write through safe_memcpy fails with -EROFS instead of failing at write-back.
 * Threading and errors: as Pager.
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
    /** Pages the pager evicted so far (notify_evict calls). Any thread. */
    uint64_t evictions() const noexcept;

    struct Backing;

  private:
    FilePager(std::unique_ptr<Backing> backing, std::unique_ptr<Pager> pager);
    std::unique_ptr<Backing> backing_;
    std::unique_ptr<Pager> pager_;
};

}  // namespace homa::mem
