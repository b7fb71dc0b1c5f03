// Failures counted by cause (errno), so that a report can say *why* RPCs failed instead of one
// total: ETIMEDOUT (the peer went silent), ENOMEM (RPC table full), ENOBUFS (pool, send slots
// or ports full), EIO, and every other errno by its own name. A fixed array: counting is one
// increment on the load loop and never allocates.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace homa::perf {

class ErrorCounts {
  public:
    static constexpr int kMaxErrno = 160;  ///< Linux errnos end at 133; beyond goes to "other".

    /** Counts one failure with `error` (a positive or negative errno; 0 is ignored). */
    void add(int error) noexcept {
        if (error == 0) return;
        int e = error < 0 ? -error : error;
        ++counts_[e < kMaxErrno ? e : 0];
        ++total_;
    }
    uint64_t total() const noexcept { return total_; }
    /** Failures with this errno (positive or negative). */
    uint64_t of(int error) const noexcept;
    void merge(const ErrorCounts &o) noexcept;

    /** "ETIMEDOUT 3, ENOBUFS 1" (non-zero causes only), or "none". */
    std::string describe() const;
    /** A JSON object: the four causes every report shows (ETIMEDOUT, ENOMEM, ENOBUFS, EIO),
     *  always present, then every other non-zero errno by name. */
    void print_json(FILE *out) const;

  private:
    uint64_t counts_[kMaxErrno] = {};  ///< Index 0: errnos beyond kMaxErrno.
    uint64_t total_ = 0;
};

/** "ENOBUFS" for ENOBUFS (either sign); "E<n>" if the C library has no name for it. */
std::string errno_name(int error);

}  // namespace homa::perf
