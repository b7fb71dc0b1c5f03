// Pager pages and operations; see pager.h. Queue and workers are in pager_workers.cc.
//
// DESIGN NOTES
// libpager serves faults that the Mach kernel raises on a memory object. A Linux equivalent
// would be a SIGSEGV handler (or userfaultfd) that calls read_page and maps the result. That
// was rejected: a signal handler cannot safely take locks or call user callbacks, a handler
// per process clashes with the application's own, and a fault on a DPDK lcore would stall
// it on I/O — the very thing homa-dp avoids. So faults are explicit: fault_in(range) and
// safe_memcpy() look at the page table kept here (absent / clean / dirty / error) and call
// the backing store for what is missing. Touching memory() for a page that is not present
// is not a fault: it reads zeros (the pages are anonymous memory, dropped with
// MADV_DONTNEED on eviction).
// One mutex covers the page table, but it is not held while a page is read: the reader marks
// the page busy, drops the lock, reads, and takes the lock again to record the result. Anyone
// else who needs a busy page (a second fault on it, an eviction, an offer, shutdown) waits on
// page_cv, so a page is never read twice at once nor dropped under a reader's feet. That lets
// reads overlap: the control lcore's pulls with other callers, and within one fault_in() the
// runs of absent pages with each other on the I/O threads (pager_io.cc). A backing store
// then sees several reads in flight, and cold reads are bounded by the device instead of by
// one read at a time. Writes (write_page) still run under the lock: they are rare here (the
// dataplane only reads) and keeping them there keeps dirty-page handling simple.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pager_impl.h"

namespace homa::mem {

int Pager::Impl::page_range(uint64_t offset, size_t len, uint64_t *first, uint64_t *end) const {
    if (offset > size || len > size - offset) return -EINVAL;
    *first = offset / config.page_size;
    *end = len == 0 ? *first : (offset + len + config.page_size - 1) / config.page_size;
    return 0;
}

int Pager::Impl::fault_page(std::unique_lock<std::mutex> &lk, uint64_t page, bool for_write,
                            bool overwritten) {
    for (;;) {
        wait_idle(lk, page);
        PageState st = state[page];
        if (st == PageState::kClean || st == PageState::kDirty) break;
        if (for_write && overwritten) {
            // Every byte will be written: reading the old contents would be wasted I/O.
            state[page] = PageState::kClean;
            write_locked[page] = 0;
            break;
        }
        if (shut_down) return -ESHUTDOWN;
        ReadRun run;
        run.first = page;
        run.count = 1;
        busy[page] = 1;
        lk.unlock();
        read_run(run);
        lk.lock();
        apply_reads(&run, 1);
        if (run.rc != 0) return run.rc;
        // Present now, unless an eviction got in between: then look again.
    }
    if (for_write && write_locked[page] != 0) {
        int rc = store.unlock_page(store.ctx, page);
        if (rc != 0) {
            error[page] = rc;
            return rc;
        }
        write_locked[page] = 0;
    }
    return 0;
}

int Pager::Impl::write_back(uint64_t page) {
    int rc = store.write_page(store.ctx, page, mem + page * config.page_size);
    if (rc != 0) {
        error[page] = rc;
        return rc;
    }
    state[page] = PageState::kClean;
    error[page] = 0;
    return 0;
}

void Pager::Impl::evict(uint64_t page) {
    bool was_present = state[page] == PageState::kClean || state[page] == PageState::kDirty;
    madvise(mem + page * config.page_size, config.page_size, MADV_DONTNEED);
    state[page] = PageState::kAbsent;
    write_locked[page] = 0;
    if (was_present) store.notify_evict(store.ctx, page);
}

int Pager::Impl::return_range(std::unique_lock<std::mutex> &lk, uint64_t first, uint64_t end) {
    int first_error = 0;
    for (uint64_t p = first; p < end; ++p) {
        wait_idle(lk, p);
        if (state[p] == PageState::kDirty) {
            int rc = write_back(p);
            if (rc != 0) {
                if (first_error == 0) first_error = rc;
                continue;  // keep the data: it exists nowhere else
            }
        }
        if (state[p] != PageState::kAbsent) evict(p);
    }
    return first_error;
}

int Pager::Impl::run(const PagerRequest &req) {
    std::unique_lock<std::mutex> lk(mu);
    if (shut_down) return -ESHUTDOWN;
    int first_error = 0;
    switch (req.op) {
        case PagerRequest::Op::kSync:
            for (uint64_t p = req.first; p < req.end; ++p) {
                if (state[p] != PageState::kDirty) continue;
                int rc = write_back(p);
                if (rc != 0 && first_error == 0) first_error = rc;
            }
            break;
        case PagerRequest::Op::kFlush:
            for (uint64_t p = req.first; p < req.end; ++p) {
                wait_idle(lk, p);
                if (state[p] != PageState::kAbsent) evict(p);
            }
            break;
        case PagerRequest::Op::kReturn: first_error = return_range(lk, req.first, req.end); break;
        case PagerRequest::Op::kAttributes:
            config.may_cache = req.may_cache;
            config.write_through = req.write_through;
            if (!config.may_cache) first_error = return_range(lk, 0, npages);
            break;
    }
    return first_error;
}

Pager::Pager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pager::~Pager() {
    bool done;
    {
        std::lock_guard<std::mutex> lock(impl_->mu);
        done = impl_->shut_down;
    }
    if (!done) (void)shutdown();
    if (impl_->mapped != 0) munmap(impl_->mem, impl_->mapped);
}

std::unique_ptr<Pager> Pager::create(const PagerBackingStore &store, const PagerConfig &config,
                                     std::string *error) {
    auto fail = [error](const std::string &msg) {
        if (error != nullptr) *error = msg;
        return nullptr;
    };
    if (store.read_page == nullptr || store.write_page == nullptr || store.unlock_page == nullptr ||
        store.report_extent == nullptr || store.notify_evict == nullptr ||
        store.clear_user_data == nullptr) {
        return fail("every PagerBackingStore callback is required");
    }
    size_t sys_page = static_cast<size_t>(getpagesize());
    if (config.page_size < sys_page || (config.page_size & (config.page_size - 1)) != 0) {
        return fail("page_size must be a power of two >= the system page size");
    }
    auto impl = std::make_unique<Impl>();
    impl->store = store;
    impl->config = config;
    if (int rc = store.report_extent(store.ctx, &impl->size); rc != 0) {
        return fail(std::string("report_extent: ") + strerror(-rc));
    }
    impl->npages = (impl->size + config.page_size - 1) / config.page_size;
    // Reserve address space only; pages get memory when read_page fills them.
    impl->mapped = std::max<uint64_t>(impl->npages, 1) * config.page_size;
    // The pager's pages are evictable by design, but a process that locked its memory with
    // mlockall(MCL_FUTURE) (the apps' --lock_memory) would fault the whole region in at mmap
    // and pin it, and MADV_DONTNEED refuses locked ranges. So map it inaccessible (mlock does
    // not populate PROT_NONE), unlock it, and only then open it.
    void *p =
        mmap(nullptr, impl->mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        impl->mapped = 0;
        return fail(std::string("mmap: ") + strerror(errno));
    }
    if (munlock(p, impl->mapped) != 0 || mprotect(p, impl->mapped, PROT_READ | PROT_WRITE) != 0) {
        int err = errno;
        munmap(p, impl->mapped);
        impl->mapped = 0;
        return fail(std::string("unlocking the pager's region: ") + strerror(err));
    }
    impl->mem = static_cast<uint8_t *>(p);
    impl->state.assign(impl->npages, PageState::kAbsent);
    impl->error.assign(impl->npages, 0);
    impl->write_locked.assign(impl->npages, 0);
    impl->busy.assign(impl->npages, 0);
    if (config.io_batch_pages == 0) return fail("io_batch_pages must be > 0");
    if (config.io_nice < 0 || config.io_nice > 19) return fail("io_nice must be 0..19");
    impl->start_io(config.io_threads);
    return std::unique_ptr<Pager>(new Pager(std::move(impl)));
}

const uint8_t *Pager::memory() const noexcept { return impl_->mem; }
uint64_t Pager::size_bytes() const noexcept { return impl_->size; }
size_t Pager::page_size() const noexcept { return impl_->config.page_size; }
uint64_t Pager::num_pages() const noexcept { return impl_->npages; }

PageState Pager::page_state(uint64_t page) const {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return page < impl_->npages ? impl_->state[page] : PageState::kAbsent;
}

int Pager::fault_in(uint64_t offset, size_t len, bool for_write) {
    Impl &p = *impl_;
    // At most this many runs are read per round (a fixed array: no allocation per fault).
    constexpr unsigned kMaxRuns = 64;
    std::unique_lock<std::mutex> lk(p.mu);
    if (p.shut_down) return -ESHUTDOWN;
    uint64_t first, end;
    if (int rc = p.page_range(offset, len, &first, &end); rc != 0) return rc;
    for (;;) {
        if (p.shut_down) return -ESHUTDOWN;  // shutdown() ran while we waited or read
        // Claim the absent pages nobody is reading, cut into runs.
        ReadRun runs[kMaxRuns];
        unsigned n = 0;
        uint64_t claimed_end = end;  // pages from here on wait for the next round
        for (uint64_t page = first; page < end; ++page) {
            PageState st = p.state[page];
            if (p.busy[page] != 0 || st == PageState::kClean || st == PageState::kDirty) continue;
            ReadRun *last = n > 0 ? &runs[n - 1] : nullptr;
            if (last != nullptr && last->first + last->count == page &&
                last->count < p.config.io_batch_pages) {
                ++last->count;
            } else if (n < kMaxRuns) {
                runs[n].first = page;
                runs[n].count = 1;
                ++n;
            } else {
                claimed_end = page;
                break;
            }
            p.busy[page] = 1;
        }
        if (n > 0) {
            lk.unlock();
            p.read_runs(runs, n);
            lk.lock();
            p.apply_reads(runs, n);
        }
        // Pages other threads were reading: wait for them, then look at the whole range.
        // (An error after claimed_end is an old one: the next round reads that page again.)
        bool missing = claimed_end < end;
        for (uint64_t page = first; page < claimed_end; ++page) {
            p.wait_idle(lk, page);
            PageState st = p.state[page];
            if (st == PageState::kError) return p.error[page];
            if (st == PageState::kAbsent) missing = true;  // evicted meanwhile
        }
        if (!missing) break;
    }
    if (for_write) {
        for (uint64_t page = first; page < end; ++page) {
            if (int rc = p.fault_page(lk, page, true, false); rc != 0) return rc;
        }
    }
    return 0;
}

CopyResult Pager::safe_memcpy(uint64_t offset, void *buffer, size_t len, CopyDirection dir) {
    Impl &p = *impl_;
    std::unique_lock<std::mutex> lk(p.mu);
    if (p.shut_down) return {-ESHUTDOWN, 0};
    if (offset > p.size) return {-EINVAL, 0};
    const bool to_pager = dir == CopyDirection::kToPager;
    const size_t ps = p.config.page_size;
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, p.size - offset));
    auto *buf = static_cast<uint8_t *>(buffer);
    size_t copied = 0;
    int rc = 0;
    while (copied < n) {
        uint64_t at = offset + copied;
        uint64_t page = at / ps;
        uint64_t page_start = page * ps;
        uint64_t page_end = std::min<uint64_t>(page_start + ps, p.size);
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(page_end - at, n - copied));
        bool overwritten = at == page_start && at + chunk == page_end;
        if ((rc = p.fault_page(lk, page, to_pager, overwritten)) != 0) break;
        if (to_pager) {
            memcpy(p.mem + at, buf + copied, chunk);
            p.state[page] = PageState::kDirty;
        } else {
            memcpy(buf + copied, p.mem + at, chunk);
        }
        copied += chunk;
    }
    if (copied > 0) {
        uint64_t first = offset / ps;
        uint64_t end = (offset + copied + ps - 1) / ps;
        int after = 0;
        if (to_pager && p.config.write_through) {
            for (uint64_t page = first; page < end && after == 0; ++page) {
                if (p.state[page] == PageState::kDirty) after = p.write_back(page);
            }
        }
        if (!p.config.may_cache) {
            int r = p.return_range(lk, first, end);
            if (after == 0) after = r;
        }
        if (rc == 0) rc = after;
    }
    if (rc == 0 && n < len) rc = -EINVAL;
    return {rc, copied};
}

int Pager::sync(bool wait) { return sync_some(0, impl_->size, wait); }
int Pager::flush(bool wait) { return flush_some(0, impl_->size, wait); }
int Pager::return_all(bool wait) { return return_some(0, impl_->size, wait); }

int Pager::sync_some(uint64_t offset, size_t len, bool wait) {
    PagerRequest req;
    req.op = PagerRequest::Op::kSync;
    if (int rc = impl_->page_range(offset, len, &req.first, &req.end); rc != 0) return rc;
    return impl_->submit(req, wait);
}

int Pager::flush_some(uint64_t offset, size_t len, bool wait) {
    PagerRequest req;
    req.op = PagerRequest::Op::kFlush;
    if (int rc = impl_->page_range(offset, len, &req.first, &req.end); rc != 0) return rc;
    return impl_->submit(req, wait);
}

int Pager::return_some(uint64_t offset, size_t len, bool wait) {
    PagerRequest req;
    req.op = PagerRequest::Op::kReturn;
    if (int rc = impl_->page_range(offset, len, &req.first, &req.end); rc != 0) return rc;
    return impl_->submit(req, wait);
}

int Pager::change_attributes(bool may_cache, bool write_through, bool wait) {
    PagerRequest req;
    req.op = PagerRequest::Op::kAttributes;
    req.may_cache = may_cache;
    req.write_through = write_through;
    return impl_->submit(req, wait);
}

int Pager::offer_page(uint64_t page, const void *data, bool precious, bool write_lock) {
    Impl &p = *impl_;
    std::unique_lock<std::mutex> lk(p.mu);
    if (p.shut_down) return -ESHUTDOWN;
    if (page >= p.npages) return -EINVAL;
    p.wait_idle(lk, page);
    if (p.state[page] == PageState::kDirty) return -EBUSY;
    memcpy(p.mem + page * p.config.page_size, data, p.config.page_size);
    p.state[page] = precious ? PageState::kDirty : PageState::kClean;
    p.write_locked[page] = write_lock ? 1 : 0;
    p.error[page] = 0;
    return 0;
}

int Pager::get_error(uint64_t offset) const {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (offset >= impl_->size) return -EINVAL;
    return impl_->error[offset / impl_->config.page_size];
}

int Pager::first_error(uint64_t offset, size_t len) const {
    const Impl &p = *impl_;
    uint64_t first, end;
    if (int rc = p.page_range(offset, len, &first, &end); rc != 0) return rc;
    std::lock_guard<std::mutex> lock(p.mu);
    for (uint64_t page = first; page < end; ++page) {
        if (p.error[page] != 0) return p.error[page];
    }
    return 0;
}

}  // namespace homa::mem
