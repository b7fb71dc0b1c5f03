// Private to mem/: the state behind Pager, shared by pager.cc (pages and operations) and
// pager_workers.cc (request queue, worker threads, inhibit/resume, shutdown).
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

struct Pager::Impl {
    PagerBackingStore store;
    PagerConfig config;
    uint64_t size = 0;
    uint64_t npages = 0;
    uint8_t *mem = nullptr;
    size_t mapped = 0;

    // Page state; `mu` is held across backing-store calls (see DESIGN NOTES in pager.cc).
    mutable std::mutex mu;
    std::vector<PageState> state;
    std::vector<int> error;
    std::vector<uint8_t> write_locked;
    bool shut_down = false;

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

    // With mu held:
    int fault_page(uint64_t page, bool for_write, bool overwritten);
    int write_back(uint64_t page);
    void evict(uint64_t page);
    int return_range(uint64_t first, uint64_t end);
};

}  // namespace homa::mem
