// Pager reads without the page-table lock, and the I/O threads that overlap them; see pager.h
// (PagerConfig::io_threads) and the DESIGN NOTES in pager.cc.
//
// A caller that needs absent pages marks them busy under the lock, cuts them into runs of at
// most io_batch_pages contiguous pages, drops the lock and reads. With I/O threads the runs go
// to a queue and the caller takes runs from it too, so it never sits idle while its own reads
// wait for a thread; it sleeps on done_cv only when every run is taken and some still run.
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pager_impl.h"

namespace homa::mem {

void Pager::Impl::read_run(ReadRun &run) {
    const size_t ps = config.page_size;
    uint8_t *at = mem + run.first * ps;
    run.rc = 0;
    run.pages_ok = 0;
    run.write_lock = false;
    if (store.read_pages != nullptr) {
        bool lock = false;
        run.rc = store.read_pages(store.ctx, run.first, run.count, at, &lock);
        if (run.rc == 0) {
            run.pages_ok = run.count;
            run.write_lock = lock;
        }
        return;
    }
    for (uint64_t i = 0; i < run.count; ++i) {
        bool lock = false;
        run.rc = store.read_page(store.ctx, run.first + i, at + i * ps, &lock);
        if (run.rc != 0) return;
        run.write_lock = run.write_lock || lock;
        ++run.pages_ok;
    }
}

void Pager::Impl::read_runs(ReadRun *runs, unsigned n) {
    if (io_workers.empty() || n == 1) {
        for (unsigned i = 0; i < n; ++i) read_run(runs[i]);
        return;
    }
    unsigned pending = n;
    std::unique_lock<std::mutex> lk(io_mu);
    for (unsigned i = 0; i < n; ++i) {
        runs[i].pending = &pending;
        io_queue.push_back(&runs[i]);
    }
    io_cv.notify_all();
    while (pending != 0) {
        if (io_queue.empty()) {
            done_cv.wait(lk);
            continue;
        }
        // Help: the queue may hold other callers' runs too, which is just as useful.
        ReadRun *run = io_queue.front();
        io_queue.pop_front();
        lk.unlock();
        read_run(*run);
        lk.lock();
        if (--*run->pending == 0) done_cv.notify_all();
    }
}

void Pager::Impl::io_loop() {
    // PRIO_PROCESS with who 0 is the calling thread on Linux.
    if (config.io_nice != 0) (void)setpriority(PRIO_PROCESS, 0, config.io_nice);
    std::unique_lock<std::mutex> lk(io_mu);
    for (;;) {
        io_cv.wait(lk, [this] { return io_stop || !io_queue.empty(); });
        if (io_queue.empty()) return;  // stopping, nothing left
        ReadRun *run = io_queue.front();
        io_queue.pop_front();
        lk.unlock();
        read_run(*run);
        lk.lock();
        if (--*run->pending == 0) done_cv.notify_all();
    }
}

void Pager::Impl::start_io(unsigned n) {
    std::lock_guard<std::mutex> lk(io_mu);
    for (unsigned i = 0; i < n; ++i) io_workers.emplace_back([this] { io_loop(); });
}

void Pager::Impl::stop_io() {
    std::vector<std::thread> workers;
    {
        std::lock_guard<std::mutex> lk(io_mu);
        io_stop = true;
        io_cv.notify_all();
        workers.swap(io_workers);
    }
    for (auto &t : workers) t.join();
}

void Pager::Impl::apply_reads(const ReadRun *runs, unsigned n) {
    const size_t ps = config.page_size;
    for (unsigned r = 0; r < n; ++r) {
        const ReadRun &run = runs[r];
        for (uint64_t i = 0; i < run.count; ++i) {
            uint64_t page = run.first + i;
            busy[page] = 0;
            if (i < run.pages_ok) {
                state[page] = PageState::kClean;
                write_locked[page] = run.write_lock ? 1 : 0;
                error[page] = 0;
            } else if (i == run.pages_ok) {
                state[page] = PageState::kError;
                error[page] = run.rc;
            }
            // Pages after the failure stay as they were (absent, or an older error).
        }
        if (run.pages_ok < run.count) {
            // Whatever the failed read left there must read as zeros, like any absent page.
            madvise(mem + (run.first + run.pages_ok) * ps, (run.count - run.pages_ok) * ps,
                    MADV_DONTNEED);
        }
    }
    page_cv.notify_all();
}

void Pager::Impl::wait_idle(std::unique_lock<std::mutex> &lk, uint64_t page) {
    page_cv.wait(lk, [&] { return busy[page] == 0; });
}

}  // namespace homa::mem
