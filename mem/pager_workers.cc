// Pager request queue, worker threads, inhibit/resume and shutdown; see pager.h.
//
// Requests carry a sequence number. inhibit() records the next number as a barrier: workers
// still start requests below it, and inhibit() returns once none is queued or running; those
// at or above it wait for resume(). This is the "wait until all earlier requests finished"
// of the Hurd's ports_inhibit_class_rpcs, for the pager's own request queue. Calls made with
// wait = true run in the caller and are not gated.
#include <cerrno>

#include "pager_impl.h"

namespace homa::mem {

bool Pager::Impl::head_runnable() const {
    return !queue.empty() && (!inhibited || queue.front().seq < barrier);
}

int Pager::Impl::submit(PagerRequest req, bool wait) {
    {
        std::lock_guard<std::mutex> lock(qmu);
        if (!wait && !workers.empty()) {
            if (stopping) return -ESHUTDOWN;
            req.seq = next_seq++;
            queue.push_back(req);
            qcv.notify_all();
            return 0;
        }
    }
    return run(req);
}

void Pager::Impl::worker_loop() {
    std::unique_lock<std::mutex> lock(qmu);
    for (;;) {
        qcv.wait(lock, [this] { return head_runnable() || (stopping && queue.empty()); });
        if (!head_runnable()) return;  // stopping and nothing left
        PagerRequest req = queue.front();
        queue.pop_front();
        ++running;
        lock.unlock();
        // Errors stay recorded per page; get_error() reports them to whoever asks.
        (void)run(req);
        lock.lock();
        --running;
        qcv.notify_all();
    }
}

int Pager::start_workers(unsigned n) {
    Impl &p = *impl_;
    if (n == 0) return -EINVAL;
    {
        std::lock_guard<std::mutex> lock(p.mu);
        if (p.shut_down) return -ESHUTDOWN;
    }
    std::lock_guard<std::mutex> lock(p.qmu);
    if (p.stopping) return -ESHUTDOWN;
    if (!p.workers.empty()) return -EALREADY;
    for (unsigned i = 0; i < n; ++i) p.workers.emplace_back([&p] { p.worker_loop(); });
    return 0;
}

int Pager::inhibit() {
    Impl &p = *impl_;
    std::unique_lock<std::mutex> lock(p.qmu);
    if (p.inhibited) return -EALREADY;
    p.inhibited = true;
    p.barrier = p.next_seq;
    p.qcv.wait(lock, [&p] {
        return p.running == 0 && (p.queue.empty() || p.queue.front().seq >= p.barrier);
    });
    return 0;
}

void Pager::resume() {
    Impl &p = *impl_;
    std::lock_guard<std::mutex> lock(p.qmu);
    p.inhibited = false;
    p.qcv.notify_all();
}

int Pager::shutdown() {
    Impl &p = *impl_;
    std::vector<std::thread> workers;
    {
        std::lock_guard<std::mutex> lock(p.qmu);
        p.stopping = true;
        p.inhibited = false;
        p.qcv.notify_all();
        workers.swap(p.workers);
    }
    for (auto &t : workers) t.join();
    std::unique_lock<std::mutex> lk(p.mu);
    if (p.shut_down) return -ESHUTDOWN;
    // Refuse new faults first (faults in progress look at this before each read), then let
    // reads still in flight land: the store must not go while one runs.
    p.shut_down = true;
    int first_error = 0;
    for (uint64_t page = 0; page < p.npages; ++page) {
        p.wait_idle(lk, page);
        if (p.state[page] != PageState::kDirty) continue;
        int rc = p.write_back(page);
        if (rc != 0 && first_error == 0) first_error = rc;
    }
    lk.unlock();
    p.stop_io();  // no run is queued: every busy page was waited for, and new faults refuse
    p.store.clear_user_data(p.store.ctx);
    return first_error;
}

}  // namespace homa::mem
