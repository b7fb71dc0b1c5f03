// The memory a worker logs its poll gaps into (dp::PollGapLog): on the heap for this process
// alone, or in a file mapped shared (homa-perf --gap_share) so that another process of the
// host reads the gaps while they happen (--peer_gap_share): the knee search of a client
// (--knee_without_gaps) judges its RPCs by the gaps of both ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capacity_search.h"
#include "homa/dataplane/worker.h"

namespace homa::perf {

class GapLogMemory {
  public:
    /** Room for `capacity` gaps on the heap. Never fails (throws only on exhaustion). */
    static std::unique_ptr<GapLogMemory> on_heap(uint64_t capacity);
    /** Creates (or truncates) `path` with room for `capacity` gaps and maps it shared, for
     *  this process's worker to write. nullptr and `error` set on failure. */
    static std::unique_ptr<GapLogMemory> create_shared(const std::string &path, uint64_t capacity,
                                                       std::string *error);
    /** Maps a file made by create_shared in another process, to read. nullptr and `error` set
     *  if it is missing, too short, not such a file, or from a host with another TSC rate. */
    static std::unique_ptr<GapLogMemory> open_shared(const std::string &path, std::string *error);
    ~GapLogMemory();
    GapLogMemory(const GapLogMemory &) = delete;
    GapLogMemory &operator=(const GapLogMemory &) = delete;

    /** What a writer hands to Worker::set_gap_log (an empty log, which logs nothing, for a
     *  mapping opened with open_shared: it is read-only). */
    dp::PollGapLog log() noexcept;
    /** Gaps written so far (acquire: each is whole), any thread or process. */
    uint64_t count() const noexcept;
    const dp::PollGap *entries() const noexcept { return entries_; }
    /** Appends every gap written so far to `out` (which count is merged_absences' call). */
    void collect(std::vector<GapInterval> *out) const;

  private:
    GapLogMemory() = default;
    void *map_ = nullptr;  ///< Shared mapping (nullptr: heap).
    size_t map_len_ = 0;
    std::unique_ptr<dp::PollGap[]> heap_;
    std::atomic<uint64_t> heap_count_{0};
    dp::PollGap *entries_ = nullptr;
    uint64_t capacity_ = 0;
    std::atomic<uint64_t> *count_ = nullptr;
    bool writable_ = true;
};

}  // namespace homa::perf
