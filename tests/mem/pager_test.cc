// Pager against a recording backing store: every callback appends to a text log that the
// tests compare, and failures are injected per page.
#include "homa/mem/pager.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "homa/mem/residency.h"

namespace homa::mem {
namespace {

constexpr size_t kPage = 4096;

struct RecordingStore {
    std::vector<std::vector<uint8_t>> pages;
    uint64_t size;
    std::set<uint64_t> fail_read, fail_write, fail_unlock, write_locked;
    std::chrono::milliseconds write_delay{0};
    mutable std::mutex mu;  // workers write the log too
    std::string log_text;
    int clears = 0;

    explicit RecordingStore(uint64_t bytes) : size(bytes) {
        pages.resize((bytes + kPage - 1) / kPage);
        for (size_t p = 0; p < pages.size(); ++p)
            pages[p].assign(kPage, static_cast<uint8_t>(p + 1));
    }
    void log(const std::string &s) {
        std::lock_guard<std::mutex> lock(mu);
        log_text += log_text.empty() ? s : ", " + s;
    }
    // Returns the log since the last call.
    std::string take() {
        std::lock_guard<std::mutex> lock(mu);
        std::string s;
        s.swap(log_text);
        return s;
    }

    static RecordingStore &of(void *ctx) { return *static_cast<RecordingStore *>(ctx); }
    static int read_page(void *ctx, uint64_t page, void *buf, bool *write_lock) {
        auto &s = of(ctx);
        s.log("read " + std::to_string(page));
        if (s.fail_read.count(page) != 0) return -EIO;
        memcpy(buf, s.pages[page].data(), kPage);
        *write_lock = s.write_locked.count(page) != 0;
        return 0;
    }
    static int write_page(void *ctx, uint64_t page, const void *buf) {
        auto &s = of(ctx);
        std::this_thread::sleep_for(s.write_delay);
        s.log("write " + std::to_string(page));
        if (s.fail_write.count(page) != 0) return -EIO;
        memcpy(s.pages[page].data(), buf, kPage);
        return 0;
    }
    static int unlock_page(void *ctx, uint64_t page) {
        auto &s = of(ctx);
        s.log("unlock " + std::to_string(page));
        return s.fail_unlock.count(page) != 0 ? -EACCES : 0;
    }
    static int report_extent(void *ctx, uint64_t *size) {
        *size = of(ctx).size;
        return 0;
    }
    static void notify_evict(void *ctx, uint64_t page) {
        of(ctx).log("evict " + std::to_string(page));
    }
    static void clear_user_data(void *ctx) {
        of(ctx).log("clear");
        ++of(ctx).clears;
    }

    PagerBackingStore callbacks() {
        PagerBackingStore b;
        b.ctx = this;
        b.read_page = read_page;
        b.write_page = write_page;
        b.unlock_page = unlock_page;
        b.report_extent = report_extent;
        b.notify_evict = notify_evict;
        b.clear_user_data = clear_user_data;
        return b;
    }
};

std::unique_ptr<Pager> make_pager(RecordingStore &store, PagerConfig cfg = {}) {
    std::string err;
    auto pager = Pager::create(store.callbacks(), cfg, &err);
    EXPECT_NE(pager, nullptr) << err;
    return pager;
}

CopyResult write_bytes(Pager &p, uint64_t offset, size_t len, uint8_t value) {
    std::vector<uint8_t> buf(len, value);
    return p.safe_memcpy(offset, buf.data(), len, CopyDirection::kToPager);
}

TEST(Create, RejectsMissingCallbackAndBadPageSize) {
    RecordingStore store(3 * kPage);
    PagerBackingStore b = store.callbacks();
    b.unlock_page = nullptr;
    std::string err;
    EXPECT_EQ(Pager::create(b, {}, &err), nullptr);
    EXPECT_NE(err.find("callback"), std::string::npos);
    PagerConfig cfg;
    cfg.page_size = 6000;
    EXPECT_EQ(Pager::create(store.callbacks(), cfg, &err), nullptr);
    EXPECT_EQ(store.clears, 0);
}

TEST(SafeMemcpy, ReadFaultsEachPageInOnce) {
    RecordingStore store(3 * kPage);
    auto p = make_pager(store);
    EXPECT_EQ(p->num_pages(), 3u);
    std::vector<uint8_t> buf(5000);
    CopyResult r = p->safe_memcpy(100, buf.data(), buf.size(), CopyDirection::kFromPager);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.copied, 5000u);
    EXPECT_EQ(buf[0], 1);
    EXPECT_EQ(buf[4999], 2);  // byte 5099 is on page 1
    EXPECT_EQ(store.take(), "read 0, read 1");
    r = p->safe_memcpy(0, buf.data(), 10, CopyDirection::kFromPager);
    EXPECT_EQ(store.take(), "");
    EXPECT_EQ(p->page_state(0), PageState::kClean);
    EXPECT_EQ(p->page_state(2), PageState::kAbsent);
}

TEST(SafeMemcpy, WholePageWriteSkipsTheRead) {
    RecordingStore store(3 * kPage);
    auto p = make_pager(store);
    EXPECT_EQ(write_bytes(*p, kPage, kPage, 9).error, 0);
    EXPECT_EQ(store.take(), "");
    EXPECT_EQ(p->page_state(1), PageState::kDirty);
    EXPECT_EQ(write_bytes(*p, 10, 1, 9).error, 0);
    EXPECT_EQ(store.take(), "read 0");
    EXPECT_EQ(p->memory()[10], 9);
    EXPECT_EQ(p->memory()[11], 1);  // the rest of page 0 came from the store
}

TEST(SafeMemcpy, StopsAtTheEndOfTheObject) {
    RecordingStore store(5000);
    auto p = make_pager(store);
    std::vector<uint8_t> buf(2000);
    CopyResult r = p->safe_memcpy(4000, buf.data(), buf.size(), CopyDirection::kFromPager);
    EXPECT_EQ(r.error, -EINVAL);
    EXPECT_EQ(r.copied, 1000u);
    r = p->safe_memcpy(6000, buf.data(), 1, CopyDirection::kFromPager);
    EXPECT_EQ(r.error, -EINVAL);
    EXPECT_EQ(r.copied, 0u);
}

TEST(SafeMemcpy, ReadFailureReportsErrorAndBytesCopied) {
    RecordingStore store(3 * kPage);
    store.fail_read.insert(1);
    auto p = make_pager(store);
    std::vector<uint8_t> buf(3 * kPage);
    CopyResult r = p->safe_memcpy(0, buf.data(), buf.size(), CopyDirection::kFromPager);
    EXPECT_EQ(r.error, -EIO);
    EXPECT_EQ(r.copied, kPage);
    EXPECT_EQ(store.take(), "read 0, read 1");  // page 2 was never asked for
    EXPECT_EQ(p->get_error(kPage + 5), -EIO);
    EXPECT_EQ(p->get_error(0), 0);
    EXPECT_EQ(p->get_error(3 * kPage), -EINVAL);
    EXPECT_EQ(p->page_state(1), PageState::kError);
    // The store recovers: the next fault retries and clears the error.
    store.fail_read.clear();
    r = p->safe_memcpy(0, buf.data(), buf.size(), CopyDirection::kFromPager);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.copied, buf.size());
    EXPECT_EQ(buf[kPage], 2);
    EXPECT_EQ(p->get_error(kPage + 5), 0);
}

TEST(FaultIn, BringsPagesInForDirectReads) {
    RecordingStore store(3 * kPage);
    auto p = make_pager(store);
    EXPECT_EQ(p->fault_in(kPage, 2 * kPage, false), 0);
    EXPECT_EQ(store.take(), "read 1, read 2");
    EXPECT_EQ(p->memory()[2 * kPage + 7], 3);
    EXPECT_EQ(p->fault_in(kPage, 3 * kPage, false), -EINVAL);
    store.fail_read.insert(0);
    EXPECT_EQ(p->fault_in(0, 10, false), -EIO);
}

TEST(FaultIn, WriteLockedPageIsUnlockedBeforeWriting) {
    RecordingStore store(2 * kPage);
    store.write_locked = {0, 1};
    store.fail_unlock.insert(1);
    auto p = make_pager(store);
    EXPECT_EQ(write_bytes(*p, 5, 1, 7).error, 0);
    EXPECT_EQ(store.take(), "read 0, unlock 0");
    EXPECT_EQ(write_bytes(*p, 6, 1, 7).error, 0);
    EXPECT_EQ(store.take(), "");  // unlocked once
    CopyResult r = write_bytes(*p, kPage + 5, 1, 7);
    EXPECT_EQ(r.error, -EACCES);
    EXPECT_EQ(r.copied, 0u);
    EXPECT_EQ(p->get_error(kPage), -EACCES);
    EXPECT_EQ(p->page_state(1), PageState::kClean);  // readable, not written
}

TEST(Sync, WritesDirtyPagesAndKeepsThemClean) {
    RecordingStore store(3 * kPage);
    auto p = make_pager(store);
    write_bytes(*p, 0, 1, 0xAA);
    write_bytes(*p, 2 * kPage, 1, 0xBB);
    std::vector<uint8_t> buf(1);
    p->safe_memcpy(kPage, buf.data(), 1, CopyDirection::kFromPager);
    store.take();
    EXPECT_EQ(p->sync(true), 0);
    EXPECT_EQ(store.take(), "write 0, write 2");
    EXPECT_EQ(store.pages[0][0], 0xAA);
    EXPECT_EQ(store.pages[2][0], 0xBB);
    EXPECT_EQ(p->page_state(0), PageState::kClean);
    EXPECT_EQ(p->sync(true), 0);
    EXPECT_EQ(store.take(), "");
}

TEST(SyncSome, OnlyTheRange) {
    RecordingStore store(3 * kPage);
    auto p = make_pager(store);
    write_bytes(*p, 0, 1, 1);
    write_bytes(*p, kPage, 1, 1);
    write_bytes(*p, 2 * kPage, 1, 1);
    store.take();
    EXPECT_EQ(p->sync_some(kPage + 10, kPage, true), 0);  // touches pages 1 and 2
    EXPECT_EQ(store.take(), "write 1, write 2");
    EXPECT_EQ(p->sync_some(2 * kPage, 2 * kPage, true), -EINVAL);
}

TEST(Sync, WriteFailureKeepsPageDirtyAndReportsIt) {
    RecordingStore store(2 * kPage);
    store.fail_write.insert(0);
    auto p = make_pager(store);
    write_bytes(*p, 0, 1, 0xCC);
    store.take();
    EXPECT_EQ(p->sync(true), -EIO);
    EXPECT_EQ(p->get_error(0), -EIO);
    EXPECT_EQ(p->page_state(0), PageState::kDirty);
    EXPECT_EQ(p->return_all(true), -EIO);
    EXPECT_EQ(store.take(), "write 0, write 0");  // not evicted: the data exists nowhere else
    EXPECT_EQ(p->memory()[0], 0xCC);
    store.fail_write.clear();
    EXPECT_EQ(p->sync(true), 0);
    EXPECT_EQ(p->get_error(0), 0);
    EXPECT_EQ(store.pages[0][0], 0xCC);
}

TEST(Flush, DropsPagesWithoutWriting) {
    RecordingStore store(2 * kPage);
    auto p = make_pager(store);
    write_bytes(*p, kPage, 1, 0xDD);
    store.take();
    EXPECT_EQ(p->flush_some(kPage, 1, true), 0);
    EXPECT_EQ(store.take(), "evict 1");
    EXPECT_EQ(p->page_state(1), PageState::kAbsent);
    std::vector<uint8_t> buf(1);
    p->safe_memcpy(kPage, buf.data(), 1, CopyDirection::kFromPager);
    EXPECT_EQ(store.take(), "read 1");
    EXPECT_EQ(buf[0], 2);  // the dirty byte was discarded
    EXPECT_EQ(p->flush(true), 0);
    EXPECT_EQ(store.take(), "evict 1");
}

// The apps lock their memory with mlockall(MCL_FUTURE); the pager's region must stay
// evictable: not faulted in whole when it is mapped, and a flushed page gives its memory back
// (MADV_DONTNEED refuses locked ranges).
TEST(Flush, FreesThePageInAProcessThatLockedItsMemory) {
    pid_t pid = fork();
    if (pid == 0) {
        // MCL_FUTURE alone: no RLIMIT_MEMLOCK check on what is already mapped, so this works
        // unprivileged as long as what the child maps later fits the limit.
        if (mlockall(MCL_FUTURE) != 0) _exit(10);
        RecordingStore store(64 * kPage);
        std::string err;
        auto p = Pager::create(store.callbacks(), PagerConfig{}, &err);
        if (!p) _exit(11);
        if (mincore_resident(p->memory() + 2 * kPage, kPage)) _exit(12);
        write_bytes(*p, kPage, 1, 0xDD);
        if (!mincore_resident(p->memory() + kPage, kPage)) _exit(13);
        if (p->flush_some(kPage, 1, true) != 0) _exit(14);
        _exit(mincore_resident(p->memory() + kPage, kPage) ? 15 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 10) GTEST_SKIP() << "mlockall(MCL_FUTURE) refused here";
    EXPECT_EQ(WEXITSTATUS(status), 0)
        << "12: the region was faulted in when mapped; 15: the flushed page is still resident";
}

TEST(Return, WritesBackDirtyPagesThenDrops) {
    RecordingStore store(3 * kPage);
    auto p = make_pager(store);
    write_bytes(*p, 0, 1, 0xEE);
    std::vector<uint8_t> buf(1);
    p->safe_memcpy(kPage, buf.data(), 1, CopyDirection::kFromPager);
    store.take();
    EXPECT_EQ(p->return_all(true), 0);
    EXPECT_EQ(store.take(), "write 0, evict 0, evict 1");
    EXPECT_EQ(store.pages[0][0], 0xEE);
    EXPECT_EQ(p->page_state(0), PageState::kAbsent);
    write_bytes(*p, 2 * kPage, 1, 1);
    store.take();
    EXPECT_EQ(p->return_some(2 * kPage, 1, true), 0);
    EXPECT_EQ(store.take(), "write 2, evict 2");
}

TEST(OfferPage, SuppliesAPageWithoutARead) {
    RecordingStore store(3 * kPage);
    auto p = make_pager(store);
    std::vector<uint8_t> data(kPage, 0x42);
    EXPECT_EQ(p->offer_page(2, data.data(), false, false), 0);
    std::vector<uint8_t> buf(1);
    p->safe_memcpy(2 * kPage + 3, buf.data(), 1, CopyDirection::kFromPager);
    EXPECT_EQ(buf[0], 0x42);
    EXPECT_EQ(p->offer_page(1, data.data(), true, false), 0);  // precious: must be written
    EXPECT_EQ(p->offer_page(1, data.data(), false, false), -EBUSY);
    EXPECT_EQ(p->offer_page(3, data.data(), false, false), -EINVAL);
    EXPECT_EQ(p->return_all(true), 0);
    EXPECT_EQ(store.take(), "write 1, evict 1, evict 2");
    EXPECT_EQ(store.pages[1][0], 0x42);
}

TEST(OfferPage, WriteLockAsksForUnlock) {
    RecordingStore store(kPage);
    auto p = make_pager(store);
    std::vector<uint8_t> data(kPage, 0x42);
    EXPECT_EQ(p->offer_page(0, data.data(), false, true), 0);
    EXPECT_EQ(write_bytes(*p, 0, 1, 1).error, 0);
    EXPECT_EQ(store.take(), "unlock 0");
}

TEST(ChangeAttributes, NoCachingReturnsPagesAfterEachCopy) {
    RecordingStore store(2 * kPage);
    auto p = make_pager(store);
    std::vector<uint8_t> buf(1);
    p->safe_memcpy(kPage, buf.data(), 1, CopyDirection::kFromPager);
    store.take();
    EXPECT_EQ(p->change_attributes(false, false, true), 0);
    EXPECT_EQ(store.take(), "evict 1");  // what was cached goes now
    EXPECT_EQ(write_bytes(*p, 0, 1, 0x11).error, 0);
    EXPECT_EQ(store.take(), "read 0, write 0, evict 0");
    EXPECT_EQ(p->change_attributes(true, false, true), 0);
    EXPECT_EQ(write_bytes(*p, 0, 1, 0x12).error, 0);
    EXPECT_EQ(store.take(), "read 0");
}

TEST(ChangeAttributes, WriteThroughWritesBeforeReturning) {
    RecordingStore store(2 * kPage);
    store.fail_write.insert(1);
    auto p = make_pager(store);
    EXPECT_EQ(p->change_attributes(true, true, true), 0);
    EXPECT_EQ(write_bytes(*p, 0, 10, 0x33).error, 0);
    EXPECT_EQ(store.take(), "read 0, write 0");
    EXPECT_EQ(p->page_state(0), PageState::kClean);
    CopyResult r = write_bytes(*p, kPage, kPage, 0x34);
    EXPECT_EQ(r.error, -EIO);  // copied into the pager, but not stored
    EXPECT_EQ(r.copied, kPage);
    EXPECT_EQ(p->get_error(kPage), -EIO);
}

TEST(Shutdown, WritesBackClearsUserDataAndRefusesLaterCalls) {
    RecordingStore store(2 * kPage);
    auto p = make_pager(store);
    write_bytes(*p, kPage, 1, 0x77);
    store.take();
    EXPECT_EQ(p->shutdown(), 0);
    EXPECT_EQ(store.take(), "write 1, clear");
    EXPECT_EQ(store.pages[1][0], 0x77);
    std::vector<uint8_t> buf(1);
    EXPECT_EQ(p->safe_memcpy(0, buf.data(), 1, CopyDirection::kFromPager).error, -ESHUTDOWN);
    EXPECT_EQ(p->fault_in(0, 1, false), -ESHUTDOWN);
    EXPECT_EQ(p->sync(true), -ESHUTDOWN);
    EXPECT_EQ(p->offer_page(0, buf.data(), false, false), -ESHUTDOWN);
    EXPECT_EQ(p->start_workers(1), -ESHUTDOWN);
    EXPECT_EQ(p->shutdown(), -ESHUTDOWN);
    p.reset();
    EXPECT_EQ(store.clears, 1);
}

TEST(Shutdown, DestructorShutsDown) {
    RecordingStore store(kPage);
    {
        auto p = make_pager(store);
        write_bytes(*p, 0, 1, 0x78);
        store.take();
    }
    EXPECT_EQ(store.take(), "write 0, clear");
    EXPECT_EQ(store.pages[0][0], 0x78);
}

TEST(Workers, AsyncRequestErrorsSurfaceThroughGetError) {
    RecordingStore store(2 * kPage);
    store.fail_write.insert(0);
    auto p = make_pager(store);
    ASSERT_EQ(p->start_workers(2), 0);
    EXPECT_EQ(p->start_workers(1), -EALREADY);
    write_bytes(*p, 0, 1, 1);
    EXPECT_EQ(p->sync(false), 0);  // queued: no error yet
    ASSERT_EQ(p->inhibit(), 0);    // ... and now it has run
    p->resume();
    EXPECT_EQ(p->get_error(0), -EIO);
}

TEST(Workers, InhibitWaitsForEarlierRequestsAndHoldsLaterOnes) {
    RecordingStore store(3 * kPage);
    store.write_delay = std::chrono::milliseconds(30);
    auto p = make_pager(store);
    ASSERT_EQ(p->start_workers(1), 0);
    write_bytes(*p, 0, 1, 1);
    store.take();
    ASSERT_EQ(p->sync_some(0, 1, false), 0);
    ASSERT_EQ(p->inhibit(), 0);
    EXPECT_EQ(store.take(), "write 0");  // the earlier request finished before inhibit returned
    EXPECT_EQ(p->inhibit(), -EALREADY);
    write_bytes(*p, kPage, 1, 1);
    store.take();
    ASSERT_EQ(p->sync_some(kPage, 1, false), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    EXPECT_EQ(store.take(), "");  // held while inhibited
    EXPECT_EQ(p->page_state(1), PageState::kDirty);
    p->resume();
    ASSERT_EQ(p->inhibit(), 0);
    EXPECT_EQ(store.take(), "write 1");
    p->resume();
}

TEST(Workers, ShutdownRunsQueuedRequestsFirst) {
    RecordingStore store(2 * kPage);
    store.write_delay = std::chrono::milliseconds(5);
    auto p = make_pager(store);
    ASSERT_EQ(p->start_workers(1), 0);
    write_bytes(*p, 0, 1, 1);
    write_bytes(*p, kPage, 1, 1);
    store.take();
    ASSERT_EQ(p->return_some(0, 1, false), 0);
    ASSERT_EQ(p->inhibit(), 0);
    ASSERT_EQ(p->flush_some(kPage, 1, false), 0);  // held until shutdown resumes the queue
    EXPECT_EQ(p->shutdown(), 0);
    EXPECT_EQ(store.take(), "write 0, evict 0, evict 1, clear");
}

TEST(Workers, ConcurrentCopiesAndQueuedSyncsKeepEveryByte) {
    constexpr uint64_t kPages = 16;
    RecordingStore store(kPages * kPage);
    auto p = make_pager(store);
    ASSERT_EQ(p->start_workers(2), 0);
    // Two writers own alternate pages; queued syncs and returns race with their copies.
    auto writer = [&](uint64_t parity) {
        for (int round = 1; round <= 50; ++round) {
            for (uint64_t page = parity; page < kPages; page += 2) {
                std::vector<uint8_t> buf(100, static_cast<uint8_t>(round));
                CopyResult r = p->safe_memcpy(page * kPage + 7, buf.data(), buf.size(),
                                              CopyDirection::kToPager);
                ASSERT_EQ(r.error, 0);
            }
            ASSERT_EQ(p->sync(false), 0);
            if (round % 10 == 0) { ASSERT_EQ(p->return_some(parity * kPage, kPage, false), 0); }
        }
    };
    std::thread a(writer, 0), b(writer, 1);
    a.join();
    b.join();
    ASSERT_EQ(p->shutdown(), 0);
    for (uint64_t page = 0; page < kPages; ++page) {
        EXPECT_EQ(store.pages[page][7], 50) << page;
        EXPECT_EQ(store.pages[page][106], 50) << page;
        EXPECT_EQ(store.pages[page][107], page + 1) << page;  // untouched byte kept
    }
}

}  // namespace
}  // namespace homa::mem
