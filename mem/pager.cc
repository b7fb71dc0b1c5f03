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
// One mutex covers the page table and is held across backing-store calls. Per-page busy
// bits would let I/O on different pages overlap; the pager serves the control lcore and a
// few workers, where simple and obviously correct wins for now.
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

int Pager::Impl::fault_page(uint64_t page, bool for_write, bool overwritten) {
    uint8_t *at = mem + page * config.page_size;
    if (state[page] == PageState::kAbsent || state[page] == PageState::kError) {
        if (for_write && overwritten) {
            // Every byte will be written: reading the old contents would be wasted I/O.
            state[page] = PageState::kClean;
            write_locked[page] = 0;
        } else {
            bool lock = false;
            int rc = store.read_page(store.ctx, page, at, &lock);
            if (rc != 0) {
                madvise(at, config.page_size, MADV_DONTNEED);
                state[page] = PageState::kError;
                error[page] = rc;
                return rc;
            }
            state[page] = PageState::kClean;
            write_locked[page] = lock ? 1 : 0;
            error[page] = 0;
        }
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

int Pager::Impl::return_range(uint64_t first, uint64_t end) {
    int first_error = 0;
    for (uint64_t p = first; p < end; ++p) {
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
    std::lock_guard<std::mutex> lock(mu);
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
                if (state[p] != PageState::kAbsent) evict(p);
            }
            break;
        case PagerRequest::Op::kReturn:
            first_error = return_range(req.first, req.end);
            break;
        case PagerRequest::Op::kAttributes:
            config.may_cache = req.may_cache;
            config.write_through = req.write_through;
            if (!config.may_cache) first_error = return_range(0, npages);
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
    void *p = mmap(nullptr, impl->mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        impl->mapped = 0;
        return fail(std::string("mmap: ") + strerror(errno));
    }
    impl->mem = static_cast<uint8_t *>(p);
    impl->state.assign(impl->npages, PageState::kAbsent);
    impl->error.assign(impl->npages, 0);
    impl->write_locked.assign(impl->npages, 0);
    return std::unique_ptr<Pager>(new Pager(std::move(impl)));
}

const uint8_t *Pager::memory() const noexcept {
    return impl_->mem;
}
uint64_t Pager::size_bytes() const noexcept {
    return impl_->size;
}
size_t Pager::page_size() const noexcept {
    return impl_->config.page_size;
}
uint64_t Pager::num_pages() const noexcept {
    return impl_->npages;
}

PageState Pager::page_state(uint64_t page) const {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return page < impl_->npages ? impl_->state[page] : PageState::kAbsent;
}

int Pager::fault_in(uint64_t offset, size_t len, bool for_write) {
    Impl &p = *impl_;
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.shut_down) return -ESHUTDOWN;
    uint64_t first, end;
    if (int rc = p.page_range(offset, len, &first, &end); rc != 0) return rc;
    for (uint64_t page = first; page < end; ++page) {
        if (int rc = p.fault_page(page, for_write, false); rc != 0) return rc;
    }
    return 0;
}

CopyResult Pager::safe_memcpy(uint64_t offset, void *buffer, size_t len, CopyDirection dir) {
    Impl &p = *impl_;
    std::lock_guard<std::mutex> lock(p.mu);
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
        if ((rc = p.fault_page(page, to_pager, overwritten)) != 0) break;
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
            int r = p.return_range(first, end);
            if (after == 0) after = r;
        }
        if (rc == 0) rc = after;
    }
    if (rc == 0 && n < len) rc = -EINVAL;
    return {rc, copied};
}

int Pager::sync(bool wait) {
    return sync_some(0, impl_->size, wait);
}
int Pager::flush(bool wait) {
    return flush_some(0, impl_->size, wait);
}
int Pager::return_all(bool wait) {
    return return_some(0, impl_->size, wait);
}

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
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.shut_down) return -ESHUTDOWN;
    if (page >= p.npages) return -EINVAL;
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

}  // namespace homa::mem
