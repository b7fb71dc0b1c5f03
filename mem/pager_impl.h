// Private to mem/: the state behind Pager, shared by pager.cc (pages and operations),
// pager_io.cc (reads without the lock, the I/O threads) and pager_workers.cc (request queue,
// worker threads, inhibit/resume, shutdown).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "homa/mem/pager.h"

namespace homa::mem {

/** One operation over a range of pages, run now or by a worker. */
struct PagerRequest {
    enum class Op { kSync, kFlush, kReturn, kAttributes };
    Op op = Op::kSync;
    uint64_t first = 0;          ///< First page.
    uint64_t end = 0;            ///< One past the last page.
    bool may_cache = true;       ///< kAttributes only.
    bool write_through = false;  ///< kAttributes only.
    uint64_t seq = 0;            ///< Queue order; set by submit.
};

/** Pages [first, first + count) read in one go, without the lock; the result is applied under
 *  it (apply_reads). */
struct ReadRun {
    uint64_t first = 0;
    uint64_t count = 0;
    int rc = 0;             ///< 0 or the backing store's error.
    uint64_t pages_ok = 0;  ///< Pages read before the failure (all of count when rc is 0).
    bool write_lock = false;
    unsigned *pending = nullptr;  ///< The caller's outstanding runs (under io_mu).
};

struct Pager::Impl {
    PagerBackingStore store;
    PagerConfig config;
    uint64_t size = 0;
    uint64_t npages = 0;
    uint8_t *mem = nullptr;
    size_t mapped = 0;

    // Page state, under `mu`. A page being read has busy set and mu released meanwhile
    // (see DESIGN NOTES in pager.cc); whoever needs it waits on page_cv.
    mutable std::mutex mu;
    std::condition_variable page_cv;
    std::vector<PageState> state;
    std::vector<int> error;
    std::vector<uint8_t> write_locked;
    std::vector<uint8_t> busy;
    bool shut_down = false;

    // I/O threads (PagerConfig::io_threads): they take ReadRuns from io_queue.
    std::mutex io_mu;
    std::condition_variable io_cv;    ///< Work queued, or stop.
    std::condition_variable done_cv;  ///< A caller's runs finished.
    std::deque<ReadRun *> io_queue;
    bool io_stop = false;
    std::vector<std::thread> io_workers;

    // Requests with wait = false, and the workers that run them.
    std::mutex qmu;
    std::condition_variable qcv;
    std::deque<PagerRequest> queue;
    uint64_t next_seq = 0;
    unsigned running = 0;
    bool inhibited = false;
    uint64_t barrier = 0;   ///< While inhibited, only requests with seq < barrier start.
    bool stopping = false;  ///< Workers exit once the queue is empty.
    std::vector<std::thread> workers;

    /** Pages covering [offset, offset + len); -EINVAL if the range leaves the object. */
    int page_range(uint64_t offset, size_t len, uint64_t *first, uint64_t *end) const;
    /** Runs a request now (takes mu). Returns 0 or the first error. */
    int run(const PagerRequest &req);
    /** Runs at once (wait, or no workers) or queues for the workers. */
    int submit(PagerRequest req, bool wait);
    /** Worker thread body. */
    void worker_loop();
    /** True if the queue's head may start now (qmu held). */
    bool head_runnable() const;

    // pager_io.cc
    /** Reads one run (no lock held). */
    void read_run(ReadRun &run);
    /** Reads `n` runs, on the I/O threads when there are any (the caller helps), and waits. */
    void read_runs(ReadRun *runs, unsigned n);
    /** I/O thread body. */
    void io_loop();
    void start_io(unsigned n);
    void stop_io();

    // With mu held (`lk` owns it; some release it while they wait or read):
    /** Records what the runs read and clears their busy bits. */
    void apply_reads(const ReadRun *runs, unsigned n);
    void wait_idle(std::unique_lock<std::mutex> &lk, uint64_t page);
    int fault_page(std::unique_lock<std::mutex> &lk, uint64_t page, bool for_write,
                   bool overwritten);
    int write_back(uint64_t page);
    void evict(uint64_t page);
    int return_range(std::unique_lock<std::mutex> &lk, uint64_t first, uint64_t end);
};

}  // namespace homa::mem
