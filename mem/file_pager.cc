// A pager over a file with pread/pwrite; see file_pager.h.
#include "homa/mem/file_pager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace homa::mem {

struct FilePager::Backing {
    int fd = -1;
    bool writable = false;
    uint64_t size = 0;
    size_t page_size = 0;
    std::atomic<uint64_t> evictions{0};
    std::atomic<uint64_t> bytes_read{0};  // several reader threads: fetch_add

    ~Backing() {
        if (fd >= 0) close(fd);
    }

    // Reads `len` bytes at `start` into `out`; the part past the size at open is zeros. A file
    // that now ends before that size was truncated under us: -ENODATA, never zeros that
    // would pass for its bytes.
    int read_at(uint64_t start, uint8_t *out, size_t len) {
        size_t want =
            start >= size ? 0 : static_cast<size_t>(std::min<uint64_t>(len, size - start));
        size_t done = 0;
        while (done < want) {
            ssize_t n = pread(fd, out + done, want - done, static_cast<off_t>(start + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return -errno;
            if (n == 0) return -ENODATA;
            done += static_cast<size_t>(n);
        }
        bytes_read.fetch_add(done, std::memory_order_relaxed);
        memset(out + done, 0, len - done);
        return 0;
    }

    static int read_page(void *ctx, uint64_t page, void *buf, bool *write_lock) {
        auto *b = static_cast<Backing *>(ctx);
        *write_lock = !b->writable;
        return b->read_at(page * b->page_size, static_cast<uint8_t *>(buf), b->page_size);
    }

    static int read_pages(void *ctx, uint64_t first, uint64_t count, void *buf, bool *write_lock) {
        auto *b = static_cast<Backing *>(ctx);
        *write_lock = !b->writable;
        return b->read_at(first * b->page_size, static_cast<uint8_t *>(buf),
                          static_cast<size_t>(count * b->page_size));
    }

    static int write_page(void *ctx, uint64_t page, const void *buf) {
        auto *b = static_cast<Backing *>(ctx);
        uint64_t start = page * b->page_size;
        // Only the bytes inside the file: the pager never grows it.
        size_t len = static_cast<size_t>(std::min<uint64_t>(b->page_size, b->size - start));
        size_t done = 0;
        while (done < len) {
            ssize_t n = pwrite(b->fd, static_cast<const uint8_t *>(buf) + done, len - done,
                               static_cast<off_t>(start + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return -errno;
            done += static_cast<size_t>(n);
        }
        return 0;
    }

    static int unlock_page(void *ctx, uint64_t) {
        return static_cast<Backing *>(ctx)->writable ? 0 : -EROFS;
    }

    static int report_extent(void *ctx, uint64_t *size) {
        *size = static_cast<Backing *>(ctx)->size;
        return 0;
    }

    static void notify_evict(void *ctx, uint64_t) {
        auto &n = static_cast<Backing *>(ctx)->evictions;
        n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    // The descriptor is closed by ~Backing, after the pager is gone.
    static void clear_user_data(void *) {}
};

FilePager::FilePager(std::unique_ptr<Backing> backing, std::unique_ptr<Pager> pager)
    : backing_(std::move(backing)), pager_(std::move(pager)) {}

FilePager::~FilePager() {
    pager_.reset();  // writes dirty pages back while the file is still open
}

std::unique_ptr<FilePager> FilePager::open(const std::string &path, bool writable,
                                           const PagerConfig &config, std::string *error) {
    auto fail = [&](const std::string &what) {
        if (error != nullptr) *error = what;
        return nullptr;
    };
    auto b = std::make_unique<Backing>();
    b->fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (b->fd < 0) return fail("open " + path + ": " + strerror(errno));
    struct stat st;
    if (fstat(b->fd, &st) != 0) return fail("fstat " + path + ": " + strerror(errno));
    b->writable = writable;
    b->size = static_cast<uint64_t>(st.st_size);
    b->page_size = config.page_size;
    PagerBackingStore store;
    store.ctx = b.get();
    store.read_page = &Backing::read_page;
    store.read_pages = &Backing::read_pages;
    store.write_page = &Backing::write_page;
    store.unlock_page = &Backing::unlock_page;
    store.report_extent = &Backing::report_extent;
    store.notify_evict = &Backing::notify_evict;
    store.clear_user_data = &Backing::clear_user_data;
    std::string pager_error;
    auto pager = Pager::create(store, config, &pager_error);
    if (!pager) return fail(pager_error);
    return std::unique_ptr<FilePager>(new FilePager(std::move(b), std::move(pager)));
}

int FilePager::check_file(uint64_t offset, size_t len, uint64_t *size_now) const {
    struct stat st;
    if (fstat(backing_->fd, &st) != 0) return -errno;
    if (size_now != nullptr) *size_now = static_cast<uint64_t>(st.st_size);
    if (st.st_nlink == 0) return -ENOENT;
    if (offset > static_cast<uint64_t>(st.st_size) ||
        len > static_cast<uint64_t>(st.st_size) - offset) {
        return -ENODATA;
    }
    return 0;
}

int FilePager::drop_page_cache() const {
    // A read-only descriptor has nothing dirty; a writable one is synced first, or
    // DONTNEED would leave its dirty pages where they are.
    if (backing_->writable && fdatasync(backing_->fd) != 0) return -errno;
    int rc = posix_fadvise(backing_->fd, 0, 0, POSIX_FADV_DONTNEED);
    return -rc;  // posix_fadvise returns the error number itself
}

uint64_t FilePager::bytes_read() const noexcept {
    return backing_->bytes_read.load(std::memory_order_relaxed);
}

uint64_t FilePager::evictions() const noexcept {
    return backing_->evictions.load(std::memory_order_relaxed);
}

}  // namespace homa::mem
