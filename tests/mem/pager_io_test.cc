// Pager reads without the lock (pager_io.cc): reads of one fault_in() overlap on the I/O
// threads, a page two callers want is read once, a failed run is reported, a flush waits for
// a read in flight instead of dropping the page under it, and shutdown waits for reads.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "homa/mem/pager.h"

namespace homa::mem {
namespace {

constexpr size_t kPage = 4096;

// A store whose reads take `delay` and that records how many were in flight at once.
struct SlowStore {
    uint64_t size;
    std::chrono::milliseconds delay{5};
    std::atomic<int> in_flight{0};
    std::atomic<int> max_in_flight{0};
    std::atomic<int> reads{0};
    std::vector<std::atomic<int>> reads_of;  // per page
    std::atomic<int> max_nice{-100};         // highest nice value a read ran at
    uint64_t fail_page = UINT64_MAX;
    bool use_runs = true;

    explicit SlowStore(uint64_t bytes) : size(bytes), reads_of((bytes + kPage - 1) / kPage) {}

    static SlowStore &of(void *ctx) { return *static_cast<SlowStore *>(ctx); }
    void enter() {
        int nice = getpriority(PRIO_PROCESS, 0);  // this thread's
        for (int seen = max_nice.load();
             nice > seen && !max_nice.compare_exchange_weak(seen, nice);) {}
        int now = in_flight.fetch_add(1) + 1;
        int seen = max_in_flight.load();
        while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {}
        std::this_thread::sleep_for(delay);
    }
    static int fill(SlowStore &s, uint64_t first, uint64_t count, void *buf) {
        for (uint64_t i = 0; i < count; ++i) {
            if (first + i == s.fail_page) return -EIO;
            memset(static_cast<uint8_t *>(buf) + i * kPage, static_cast<int>((first + i) % 200 + 1),
                   kPage);
            s.reads_of[first + i].fetch_add(1);
        }
        return 0;
    }
    static int read_page(void *ctx, uint64_t page, void *buf, bool *) {
        auto &s = of(ctx);
        s.enter();
        s.reads.fetch_add(1);
        int rc = fill(s, page, 1, buf);
        s.in_flight.fetch_sub(1);
        return rc;
    }
    static int read_pages(void *ctx, uint64_t first, uint64_t count, void *buf, bool *) {
        auto &s = of(ctx);
        s.enter();
        s.reads.fetch_add(1);
        int rc = fill(s, first, count, buf);
        s.in_flight.fetch_sub(1);
        return rc;
    }
    static int write_page(void *, uint64_t, const void *) { return 0; }
    static int unlock_page(void *, uint64_t) { return 0; }
    static int report_extent(void *ctx, uint64_t *size) {
        *size = of(ctx).size;
        return 0;
    }
    static void notify_evict(void *, uint64_t) {}
    static void clear_user_data(void *) {}

    PagerBackingStore callbacks() {
        PagerBackingStore b;
        b.ctx = this;
        b.read_page = read_page;
        b.read_pages = use_runs ? read_pages : nullptr;
        b.write_page = write_page;
        b.unlock_page = unlock_page;
        b.report_extent = report_extent;
        b.notify_evict = notify_evict;
        b.clear_user_data = clear_user_data;
        return b;
    }
};

std::unique_ptr<Pager> make(SlowStore &s, unsigned io_threads, unsigned batch) {
    PagerConfig cfg;
    cfg.io_threads = io_threads;
    cfg.io_batch_pages = batch;
    std::string err;
    auto p = Pager::create(s.callbacks(), cfg, &err);
    EXPECT_NE(p, nullptr) << err;
    return p;
}

bool page_holds(const Pager &p, uint64_t page) {
    const uint8_t *at = p.memory() + page * kPage;
    for (size_t i = 0; i < kPage; ++i) {
        if (at[i] != static_cast<uint8_t>(page % 200 + 1)) return false;
    }
    return true;
}

TEST(PagerIo, OneFaultInOverlapsItsRunsOnTheIoThreads) {
    SlowStore s(64 * kPage);
    auto p = make(s, 4, 4);  // 16 runs of 4 pages
    ASSERT_EQ(p->fault_in(0, 64 * kPage, false), 0);
    EXPECT_EQ(s.reads.load(), 16);  // one read per run, not per page
    EXPECT_GE(s.max_in_flight.load(), 3) << "runs were read one after the other";
    EXPECT_LE(s.max_in_flight.load(), 5);  // 4 threads + the caller
    for (uint64_t pg = 0; pg < 64; ++pg) ASSERT_TRUE(page_holds(*p, pg)) << pg;
}

TEST(PagerIo, WithoutIoThreadsTheCallerReadsRunByRun) {
    SlowStore s(16 * kPage);
    auto p = make(s, 0, 4);
    ASSERT_EQ(p->fault_in(0, 16 * kPage, false), 0);
    EXPECT_EQ(s.reads.load(), 4);
    EXPECT_EQ(s.max_in_flight.load(), 1);
}

TEST(PagerIo, PerPageStoreWithoutReadPagesStillWorks) {
    SlowStore s(8 * kPage);
    s.use_runs = false;
    s.delay = std::chrono::milliseconds(0);
    auto p = make(s, 2, 4);
    ASSERT_EQ(p->fault_in(0, 8 * kPage, false), 0);
    EXPECT_EQ(s.reads.load(), 8);
    for (uint64_t pg = 0; pg < 8; ++pg) EXPECT_TRUE(page_holds(*p, pg));
}

TEST(PagerIo, TwoCallersOfTheSamePagesReadThemOnceAndOverlapOtherwise) {
    SlowStore s(32 * kPage);
    s.delay = std::chrono::milliseconds(20);
    auto p = make(s, 0, 1);
    // Different pages from two threads: with the lock held across reads they could never
    // overlap.
    std::thread a([&] { EXPECT_EQ(p->fault_in(0, 4 * kPage, false), 0); });
    std::thread b([&] { EXPECT_EQ(p->fault_in(16 * kPage, 4 * kPage, false), 0); });
    a.join();
    b.join();
    EXPECT_GE(s.max_in_flight.load(), 2);
    // The same pages from two threads: each is read once, both callers see them present.
    std::thread c([&] { EXPECT_EQ(p->fault_in(8 * kPage, 4 * kPage, false), 0); });
    std::thread d([&] { EXPECT_EQ(p->fault_in(8 * kPage, 4 * kPage, false), 0); });
    c.join();
    d.join();
    for (uint64_t pg = 8; pg < 12; ++pg) {
        EXPECT_EQ(s.reads_of[pg].load(), 1) << pg;
        EXPECT_TRUE(page_holds(*p, pg));
    }
}

TEST(PagerIo, AFailedRunIsReportedAndItsPagesStayUnread) {
    SlowStore s(16 * kPage);
    s.delay = std::chrono::milliseconds(0);
    s.fail_page = 6;  // in the second run of 4
    auto p = make(s, 2, 4);
    EXPECT_EQ(p->fault_in(0, 16 * kPage, false), -EIO);
    // The run [4, 8) failed as a whole: its first page holds the error, the rest stay absent.
    EXPECT_EQ(p->page_state(4), PageState::kError);
    EXPECT_EQ(p->page_state(6), PageState::kAbsent);
    EXPECT_EQ(p->page_state(0), PageState::kClean);
    EXPECT_EQ(p->first_error(0, 16 * kPage), -EIO);
    EXPECT_EQ(p->first_error(0, 4 * kPage), 0);
    EXPECT_EQ(p->first_error(0, 17 * kPage), -EINVAL);
    // Memory of the failed run reads zeros, like any absent page.
    EXPECT_EQ(p->memory()[5 * kPage], 0);
    s.fail_page = UINT64_MAX;
    EXPECT_EQ(p->fault_in(0, 16 * kPage, false), 0);  // retried, now fine
    EXPECT_EQ(p->first_error(0, 16 * kPage), 0);
}

TEST(PagerIo, FlushWaitsForAReadInFlight) {
    SlowStore s(4 * kPage);
    s.delay = std::chrono::milliseconds(100);
    auto p = make(s, 0, 4);
    std::thread reader([&] { EXPECT_EQ(p->fault_in(0, 4 * kPage, false), 0); });
    while (s.in_flight.load() == 0) std::this_thread::yield();
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(p->flush(true), 0);  // waits for the read, then drops the pages
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
    reader.join();
    for (uint64_t pg = 0; pg < 4; ++pg) EXPECT_EQ(p->page_state(pg), PageState::kAbsent);
}

TEST(PagerIo, ShutdownWaitsForReadsAndLaterFaultsRefuse) {
    SlowStore s(8 * kPage);
    s.delay = std::chrono::milliseconds(50);
    auto p = make(s, 2, 2);
    std::thread reader([&] {
        int rc = p->fault_in(0, 8 * kPage, false);
        EXPECT_TRUE(rc == 0 || rc == -ESHUTDOWN) << rc;
    });
    while (s.in_flight.load() == 0) std::this_thread::yield();
    EXPECT_EQ(p->shutdown(), 0);
    EXPECT_EQ(s.in_flight.load(), 0);  // no read outlives shutdown (clear_user_data came after)
    reader.join();
    EXPECT_EQ(p->fault_in(0, kPage, false), -ESHUTDOWN);
}

TEST(PagerIo, IoThreadsRunAtIoNice) {
    SlowStore s(32 * kPage);
    s.delay = std::chrono::milliseconds(2);
    PagerConfig cfg;
    cfg.io_threads = 2;
    cfg.io_batch_pages = 1;
    cfg.io_nice = 7;
    std::string err;
    auto p = Pager::create(s.callbacks(), cfg, &err);
    ASSERT_NE(p, nullptr) << err;
    int caller = getpriority(PRIO_PROCESS, 0);
    ASSERT_EQ(p->fault_in(0, 32 * kPage, false), 0);
    EXPECT_EQ(s.max_nice.load(), std::max(caller, 7)) << "no read ran on a niced I/O thread";
    EXPECT_EQ(getpriority(PRIO_PROCESS, 0), caller);  // the caller's own is untouched
    cfg.io_nice = 20;
    EXPECT_EQ(Pager::create(s.callbacks(), cfg, &err), nullptr);
    EXPECT_NE(err.find("io_nice"), std::string::npos) << err;
}

TEST(PagerIo, ZeroBatchIsRefused) {
    SlowStore s(kPage);
    PagerConfig cfg;
    cfg.io_batch_pages = 0;
    std::string err;
    EXPECT_EQ(Pager::create(s.callbacks(), cfg, &err), nullptr);
    EXPECT_NE(err.find("io_batch_pages"), std::string::npos) << err;
}

}  // namespace
}  // namespace homa::mem
