// See gap_share.h. The shared file: a 64-byte header (magic, TSC rate, capacity, count), then
// the entries.
#include "gap_share.h"

#include <fcntl.h>
#include <rte_cycles.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace homa::perf {
namespace {

// 2: entries carry their frames (dp::PollGap::frames).
constexpr char kMagic[8] = {'H', 'O', 'M', 'A', 'G', 'A', 'P', '2'};

struct alignas(64) Header {
    char magic[8];
    uint64_t tsc_hz;
    uint64_t capacity;
    std::atomic<uint64_t> count;
};
static_assert(sizeof(Header) == 64);
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared between processes");

std::string why(const std::string &what, const std::string &path) {
    return what + " " + path + ": " + strerror(errno);
}

}  // namespace

std::unique_ptr<GapLogMemory> GapLogMemory::on_heap(uint64_t capacity) {
    std::unique_ptr<GapLogMemory> m(new GapLogMemory());
    m->heap_ = std::make_unique<dp::PollGap[]>(capacity);
    m->entries_ = m->heap_.get();
    m->capacity_ = capacity;
    m->count_ = &m->heap_count_;
    return m;
}

std::unique_ptr<GapLogMemory> GapLogMemory::create_shared(const std::string &path,
                                                          uint64_t capacity, std::string *error) {
    const size_t len = sizeof(Header) + capacity * sizeof(dp::PollGap);
    int fd = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) {
        *error = why("cannot create --gap_share", path);
        return nullptr;
    }
    void *p = MAP_FAILED;
    if (ftruncate(fd, static_cast<off_t>(len)) == 0) {
        p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }
    if (p == MAP_FAILED) *error = why("cannot map --gap_share", path);
    close(fd);
    if (p == MAP_FAILED) return nullptr;
    auto *h = new (p) Header{};
    memcpy(h->magic, kMagic, sizeof(kMagic));
    h->tsc_hz = rte_get_tsc_hz();
    h->capacity = capacity;
    h->count.store(0, std::memory_order_release);
    std::unique_ptr<GapLogMemory> m(new GapLogMemory());
    m->map_ = p;
    m->map_len_ = len;
    m->entries_ = reinterpret_cast<dp::PollGap *>(static_cast<char *>(p) + sizeof(Header));
    m->capacity_ = capacity;
    m->count_ = &h->count;
    return m;
}

std::unique_ptr<GapLogMemory> GapLogMemory::open_shared(const std::string &path,
                                                        std::string *error) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        *error = why("cannot open --peer_gap_share", path);
        return nullptr;
    }
    const off_t len = lseek(fd, 0, SEEK_END);
    void *p = len >= static_cast<off_t>(sizeof(Header))
                  ? mmap(nullptr, static_cast<size_t>(len), PROT_READ, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    if (p == MAP_FAILED)
        *error = "cannot map --peer_gap_share " + path + ": too short or unreadable";
    close(fd);
    if (p == MAP_FAILED) return nullptr;
    const auto *h = static_cast<const Header *>(p);
    const bool ours = memcmp(h->magic, kMagic, sizeof(kMagic)) == 0;
    if (!ours || h->tsc_hz != rte_get_tsc_hz() ||
        sizeof(Header) + h->capacity * sizeof(dp::PollGap) > static_cast<size_t>(len)) {
        *error = "--peer_gap_share " + path +
                 (ours ? ": written on a host with another TSC rate, or cut short"
                       : ": not a gap log of this homa-perf's --gap_share (another version?)");
        munmap(p, static_cast<size_t>(len));
        return nullptr;
    }
    std::unique_ptr<GapLogMemory> m(new GapLogMemory());
    m->map_ = p;
    m->map_len_ = static_cast<size_t>(len);
    m->entries_ = reinterpret_cast<dp::PollGap *>(static_cast<char *>(p) + sizeof(Header));
    m->capacity_ = h->capacity;
    m->count_ = const_cast<std::atomic<uint64_t> *>(&h->count);  // only loaded
    m->writable_ = false;
    return m;
}

GapLogMemory::~GapLogMemory() {
    if (map_ != nullptr) munmap(map_, map_len_);
}

dp::PollGapLog GapLogMemory::log() noexcept {
    return writable_ ? dp::PollGapLog{entries_, capacity_, count_} : dp::PollGapLog{};
}

uint64_t GapLogMemory::count() const noexcept {
    return std::min(count_->load(std::memory_order_acquire), capacity_);
}

void GapLogMemory::collect(std::vector<GapInterval> *out) const {
    const uint64_t n = count();
    for (uint64_t i = 0; i < n; ++i) {
        const dp::PollGap &g = entries_[i];
        out->push_back({g.start_tsc, g.end_tsc, g.frames});
    }
}

}  // namespace homa::perf
