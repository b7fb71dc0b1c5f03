// The control lcore launched on its own lcore: stop() sending everything home, the idle loop's
// sleep and the doorbell that ends it, pager I/O as a call, aborts racing pulls, pulls in
// turns that share_core() gives, the realtime priority, and end to end: a worker lcore asks
// about a file region that is not resident, keeps working, and gets the answer once the pages
// are in. Lcores: main on core 0; worker and control share core 1 (control_lcore_test.cc's
// main brings EAL up).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "homa/dataplane/control_lcore.h"
#include "homa/mem/file_pager.h"
#include "homa/mem/residency.h"

#include "tests/dataplane/control_lcore_fixture.h"

namespace homa::dp {
namespace {

using namespace control_test;  // NOLINT: the fixture of control_lcore_fixture.h

// A residency hook that holds the first pull until stop() has been called, so that stop()
// meets a pull in progress and a request still queued.
struct Gate {
    ControlLcore *ctl = nullptr;
    std::atomic<bool> entered{false};
    static homa::mem::HookResult hook(void *ctx, const void *, size_t, bool pull, bool *) {
        auto *g = static_cast<Gate *>(ctx);
        if (pull && !g->entered.exchange(true)) {
            for (int i = 0; i < 5000 && !g->ctl->stopping(); ++i) usleep(1000);
        }
        return homa::mem::HookResult::kContinue;
    }
};

TEST_F(ControlTest, Stop_SendsEverythingHome) {
    Gate gate;
    ASSERT_EQ(chain_.register_first(Gate::hook, &gate), 0);
    create();
    gate.ctl = ctl_;
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    Anon region(1 << 20);
    PortMessage pull, call;
    prepare_pull(&pull, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &pull), 0);
    for (int i = 0; i < 5000 && !gate.entered; ++i) usleep(1000);
    ASSERT_TRUE(gate.entered);
    unsigned ran_on = ~0u;
    prepare_call(&call, reply_, record_lcore, &ran_on);
    ASSERT_EQ(send_msg(ctl_->port(), &call), 0);
    EXPECT_EQ(ctl_->stop(), 0);
    ASSERT_EQ(wait_msg(&pull, kSecond), 0);
    ASSERT_EQ(wait_msg(&call, kSecond), 0);
    EXPECT_EQ(pull.error(), -ECANCELED);
    EXPECT_EQ(call.error(), -ESHUTDOWN);
    EXPECT_EQ(ran_on, ~0u);
    EXPECT_EQ(ctl_->stats().pulls_cancelled, 1u);
}

TEST_F(ControlTest, Launch_IdleLoopSleepsAndStillWakes) {
    config_.backoff = BackoffConfig{100, 10, 50000, 50000};
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    for (int i = 0; i < 5000 && ctl_->stats().sleeps < 20; ++i) usleep(1000);
    EXPECT_GE(ctl_->stats().sleeps, 20u);
    unsigned ran_on = ~0u;
    PortMessage m;
    prepare_call(&m, reply_, record_lcore, &ran_on);
    ASSERT_EQ(do_msg(ctl_->port(), &m, 5 * kSecond), 42);  // woke from its sleep to serve it
    EXPECT_EQ(ctl_->stop(), 0);
    ControlStats s = ctl_->stats();
    EXPECT_GE(s.slept_ns, s.sleeps * 50000);  // a sleep is never shorter than asked
}

TEST_F(ControlTest, Send_RingsDoorbellOfSleepingControl) {
    config_.backoff = BackoffConfig{0, 0, 4000000000u, 4000000000u};  // 4 s sleeps
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    for (int i = 0; i < 5000 && !ctl_->asleep(); ++i) usleep(1000);
    ASSERT_TRUE(ctl_->asleep());
    unsigned ran_on = ~0u;
    PortMessage m;
    prepare_call(&m, reply_, record_lcore, &ran_on);
    ASSERT_EQ(ctl_->send(&m), 0);
    EXPECT_EQ(wait_msg(&m, 2 * kSecond), 0) << "served only when the 4 s sleep ran out";
    EXPECT_EQ(m.error(), 42);
    for (int i = 0; i < 5000 && !ctl_->asleep(); ++i) usleep(1000);
    ASSERT_TRUE(ctl_->asleep());
    prepare_call(&m, reply_, record_lcore, &ran_on);
    EXPECT_EQ(ctl_->call(&m, 2 * kSecond), 42) << "call() did not ring the doorbell";
    for (int i = 0; i < 5000 && !ctl_->asleep(); ++i) usleep(1000);
    EXPECT_EQ(ctl_->stop(), 0);  // rings too: does not wait out the sleep
    EXPECT_LT(ctl_->stats().slept_ns, 3 * kSecond);
}

// Pager I/O the way mem/'s pager plugs in: a kControlCall whose function faults pages in.
struct FaultIn {
    homa::mem::Pager *pager;
    uint64_t offset;
    size_t len;
    unsigned ran_on;
    static int run(void *ctx) {
        auto *f = static_cast<FaultIn *>(ctx);
        f->ran_on = rte_lcore_id();
        return f->pager->fault_in(f->offset, f->len, false);
    }
};

TEST_F(ControlTest, Call_PagerFaultInOnControlLcore) {
    char path[] = "/var/tmp/homa_ctl_pager_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> data(16 * kPage);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    close(fd);
    std::string err;
    auto file = homa::mem::FilePager::open(path, false, {}, &err);
    unlink(path);
    ASSERT_TRUE(file) << err;
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    FaultIn req{&file->pager(), 0, data.size(), ~0u};
    PortMessage m;
    prepare_call(&m, reply_, FaultIn::run, &req);
    ASSERT_EQ(ctl_->send(&m), 0);
    ASSERT_EQ(wait_msg(&m, 5 * kSecond), 0);
    EXPECT_EQ(m.error(), 0);
    EXPECT_EQ(req.ran_on, control_lcore());
    EXPECT_EQ(std::memcmp(file->data(), data.data(), data.size()), 0);
    FaultIn past_end{&file->pager(), data.size(), kPage, ~0u};  // the pager's error comes back
    prepare_call(&m, reply_, FaultIn::run, &past_end);
    ASSERT_EQ(ctl_->send(&m), 0);
    ASSERT_EQ(wait_msg(&m, 5 * kSecond), 0);
    EXPECT_EQ(m.error(), -EINVAL);
    EXPECT_EQ(ctl_->stop(), 0);
}

TEST_F(ControlTest, Abort_RacingPullsOnControlLcore_EachRepliedOnce) {
    config_.pull_chunk = kPage;  // pulls span several loop iterations
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    Anon region(64 * kPage);
    constexpr unsigned kTotal = 5000, kWindow = 48;  // fewer than the reply port holds
    std::vector<PortMessage> msgs(kWindow);
    std::vector<PortMessage *> free_msgs;
    for (auto &m : msgs) free_msgs.push_back(&m);
    std::vector<PortMessage *> in_flight;
    std::vector<int> replies(kTotal, 0);
    std::vector<bool> aborted(kTotal, false);
    unsigned sent = 0, done = 0, aborts = 0, cancelled = 0;
    uint64_t seed = 12345;
    auto rnd = [&seed] { return (seed = seed * 6364136223846793005ULL + 1) >> 33; };
    PortMessage *got[kMessagePortBurst];
    for (int spins = 0; done < kTotal && spins < 50000000; ++spins) {
        if (sent < kTotal && !free_msgs.empty()) {
            PortMessage *m = free_msgs.back();
            size_t first = rnd() % 48, pages = 1 + rnd() % 16;
            prepare_pull(m, reply_, region.p + first * kPage, pages * kPage);
            m->cookie = sent;
            int rc = ctl_->send(m);
            ASSERT_TRUE(rc == 0 || rc == -ENOBUFS);
            if (rc == 0) {
                free_msgs.pop_back();
                in_flight.push_back(m);
                ++sent;
            }
        }
        if (!in_flight.empty() && rnd() % 2 == 0) {
            PortMessage *m = in_flight[rnd() % in_flight.size()];
            int rc = ctl_->abort(m);
            if (rc == 0) {
                EXPECT_FALSE(aborted[m->cookie]);
                aborted[m->cookie] = true;
                ++aborts;
            } else {
                EXPECT_EQ(rc, -EALREADY);
            }
        }
        unsigned n = reply_->receive_burst(got, kMessagePortBurst);
        for (unsigned i = 0; i < n; ++i) {
            PortMessage *m = got[i];
            ASSERT_EQ(m->delivery(), Delivery::kReply);
            ++replies[m->cookie];
            const auto &r = m->body<RegionRequest>();
            if (m->error() == -ECANCELED) {
                EXPECT_TRUE(aborted[m->cookie]) << "cancelled without an abort";
                EXPECT_FALSE(r.resident);
                EXPECT_LT(r.pulled, r.len);
                ++cancelled;
            } else {
                EXPECT_EQ(m->error(), 0);  // finished (perhaps before its abort was seen)
                EXPECT_TRUE(r.resident);
                EXPECT_EQ(r.pulled, r.len);
            }
            in_flight.erase(std::find(in_flight.begin(), in_flight.end(), m));
            free_msgs.push_back(m);
            ++done;
        }
    }
    EXPECT_EQ(ctl_->stop(), 0);
    ASSERT_EQ(done, kTotal);
    for (unsigned i = 0; i < kTotal; ++i) ASSERT_EQ(replies[i], 1) << "request " << i;
    ControlStats s = ctl_->stats();
    EXPECT_EQ(s.aborts_seen, aborts);
    EXPECT_EQ(s.pulls_cancelled, cancelled);
    EXPECT_EQ(s.pulls_done + s.pulls_cancelled, kTotal);
    EXPECT_GT(cancelled, 0u);
    EXPECT_EQ(reply_->receive_burst(got, kMessagePortBurst), 0u);
    printf("pulls %u, aborted %u, cancelled mid-pull %u\n", kTotal, aborts, cancelled);
}

// Pull in turns (ControlConfig::pull_turns): the launched control lcore takes one chunk per
// turn that share_core() gives, and none before the first; the turn wait is long enough here
// (10 s) that no chunk can come from it.
TEST_F(ControlTest, PullTurns_OneChunkPerTurn) {
    config_.pull_turns = true;
    config_.turn_wait_ns = 10 * kSecond;
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    EXPECT_FALSE(ctl_->share_core());  // nothing to pull: no turn, no yield
    Anon region(4 * config_.pull_chunk);
    ASSERT_NE(region.p, nullptr);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(ctl_->send(&m), 0);
    auto pulled = [this] { return ctl_->stats().pulled_bytes; };
    auto wait_pulled = [&](uint64_t want) {
        for (uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz();
             pulled() < want && rte_get_timer_cycles() < end;) {
            usleep(100);
        }
        return pulled();
    };
    // Queued, but no chunk without a turn (the first one too).
    for (uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
         rte_get_timer_cycles() < end;) {
        usleep(1000);
    }
    EXPECT_EQ(pulled(), 0u);
    EXPECT_EQ(ctl_->turns_taken(), 0u);
    for (size_t turn = 1; turn <= 4; ++turn) {
        ASSERT_TRUE(ctl_->share_core()) << "turn " << turn;
        ASSERT_EQ(wait_pulled(turn * config_.pull_chunk), turn * config_.pull_chunk);
        usleep(20000);  // and no second chunk on the same turn
        EXPECT_EQ(pulled(), turn * config_.pull_chunk) << "turn " << turn;
    }
    ASSERT_EQ(wait_msg(&m, 5 * kSecond), 0);
    EXPECT_EQ(m.error(), 0);
    EXPECT_TRUE(m.body<RegionRequest>().resident);
    EXPECT_EQ(ctl_->turns_given(), 4u);
    EXPECT_EQ(ctl_->turns_taken(), 4u);
    EXPECT_FALSE(ctl_->share_core());  // done: nothing to pull again
    EXPECT_EQ(ctl_->stop(), 0);
}

// A worker that never idles gives no turns: the pull still advances, a chunk per turn_wait_ns.
TEST_F(ControlTest, PullTurns_WithoutTurnsAChunkPerTurnWait) {
    config_.pull_turns = true;
    config_.turn_wait_ns = 20'000'000;
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    Anon region(4 * config_.pull_chunk);
    ASSERT_NE(region.p, nullptr);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    const uint64_t start = rte_get_timer_cycles();
    ASSERT_EQ(ctl_->send(&m), 0);
    ASSERT_EQ(wait_msg(&m, 5 * kSecond), 0);
    const double ms = double(rte_get_timer_cycles() - start) * 1e3 / double(rte_get_timer_hz());
    EXPECT_EQ(m.error(), 0);
    EXPECT_TRUE(m.body<RegionRequest>().resident);
    EXPECT_GE(ms, 4 * 20.0);  // four chunks, each after a full wait
    EXPECT_EQ(ctl_->turns_taken(), 0u);
    EXPECT_EQ(ctl_->stop(), 0);
    printf("4 chunks without turns: %.1f ms (turn wait 20 ms)\n", ms);
}

// Waiting for a turn, the control lcore still serves its port: an abort is answered at once.
TEST_F(ControlTest, PullTurns_AbortSeenWhileWaitingForATurn) {
    config_.pull_turns = true;
    config_.turn_wait_ns = 10 * kSecond;
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    Anon region(4 * config_.pull_chunk);
    ASSERT_NE(region.p, nullptr);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(ctl_->send(&m), 0);
    // share_core() gives a turn once the control lcore has taken the pull from its port.
    bool gave = false;
    for (uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz();
         !gave && rte_get_timer_cycles() < end;) {
        gave = ctl_->share_core();
    }
    ASSERT_TRUE(gave);
    for (uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz();
         ctl_->stats().pulled_bytes == 0 && rte_get_timer_cycles() < end;) {
        usleep(100);
    }
    ASSERT_EQ(ctl_->stats().pulled_bytes, config_.pull_chunk);
    ASSERT_EQ(ctl_->abort(&m), 0);
    ASSERT_EQ(wait_msg(&m, 2 * kSecond), 0);  // not after the 10 s turn wait
    EXPECT_EQ(m.error(), -ECANCELED);
    EXPECT_FALSE(m.body<RegionRequest>().resident);
    EXPECT_FALSE(ctl_->share_core());
    EXPECT_EQ(ctl_->stop(), 0);
    EXPECT_EQ(ctl_->stats().pulls_cancelled, 1u);
}

// Without pull_turns, share_core() never yields: pulls run as fast as they can.
TEST_F(ControlTest, ShareCore_OffWithoutPullTurns) {
    config_.turn_wait_ns = 10 * kSecond;  // ignored without pull_turns
    create();
    Anon region(4 * config_.pull_chunk);
    ASSERT_NE(region.p, nullptr);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    ASSERT_TRUE(ctl_->poll());  // not launched: takes the pull and its first chunk
    EXPECT_FALSE(ctl_->share_core());
    poll_until_replied(&m);
    EXPECT_EQ(m.error(), 0);
    EXPECT_EQ(ctl_->turns_given(), 0u);
}

int record_policy(void *ctx) {
    *static_cast<int *>(ctx) = sched_getscheduler(0);
    return 0;
}

TEST_F(ControlTest, Launch_RealtimePriorityAppliedOrRefused) {
    config_.realtime_priority = 1;
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    int policy = -1;
    PortMessage m;
    prepare_call(&m, reply_, record_policy, &policy);
    ASSERT_EQ(ctl_->call(&m, 5 * kSecond), 0);  // served either way
    if (ctl_->sched_result() == 0) {
        EXPECT_EQ(policy, SCHED_FIFO);
    } else {
        EXPECT_EQ(ctl_->sched_result(), -EPERM);  // no CAP_SYS_NICE: stays SCHED_OTHER
        EXPECT_EQ(policy, SCHED_OTHER);
    }
    EXPECT_EQ(ctl_->stop(), 0);
    struct Probe {  // the lcore's next user gets it back as it was
        int policy = -1;
        static int run(void *arg) {
            static_cast<Probe *>(arg)->policy = sched_getscheduler(0);
            return 0;
        }
    } probe;
    ASSERT_EQ(rte_eal_remote_launch(Probe::run, &probe, control_lcore()), 0);
    EXPECT_EQ(rte_eal_wait_lcore(control_lcore()), 0);
    EXPECT_EQ(probe.policy, SCHED_OTHER);
}

// ---- end to end ----

// A file written, synced and dropped from the page cache, then mapped without touching it.
// /var/tmp: a disk filesystem (tmpfs pages cannot be evicted).
struct EvictedFile {
    int fd = -1;
    uint8_t *map = nullptr;
    size_t len;
    explicit EvictedFile(size_t bytes) : len(bytes) {
        char path[] = "/var/tmp/homa_ctl_XXXXXX";
        fd = mkstemp(path);
        if (fd < 0) return;
        unlink(path);
        std::vector<uint8_t> data(len, 0x5A);
        if (write(fd, data.data(), len) != static_cast<ssize_t>(len) || fsync(fd) != 0) return;
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        void *m = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) map = static_cast<uint8_t *>(m);
    }
    ~EvictedFile() {
        if (map != nullptr) munmap(map, len);
        if (fd >= 0) close(fd);
    }
};

struct Worker {
    ControlLcore *ctl = nullptr;
    MessagePort *reply = nullptr;
    const void *addr = nullptr;
    size_t len = 0;
    std::atomic<bool> finished{false};
    uint64_t other_work = 0;  // loop iterations that found no reply: the worker kept working
    int error = 1;
    bool resident = false;
    size_t pulled = 0;
    int rounds_of_backpressure = 0;

    static int run(void *arg) {
        auto *w = static_cast<Worker *>(arg);
        PortMessage m;
        prepare_pull(&m, w->reply, w->addr, w->len);
        while (w->ctl->send(&m) == -ENOBUFS) ++w->rounds_of_backpressure;
        PortMessage *got[kMessagePortBurst];
        volatile uint64_t busy = 0;
        for (;;) {
            unsigned n = w->reply->receive_burst(got, kMessagePortBurst);  // never blocks
            if (n == 1 && got[0] == &m) break;
            ++w->other_work;
            for (int i = 0; i < 100; ++i) busy = busy + 1;  // "RX, timers, other RPCs"
        }
        w->error = m.error();
        w->resident = m.body<RegionRequest>().resident;
        w->pulled = m.body<RegionRequest>().pulled;
        w->finished.store(true, std::memory_order_release);
        return 0;
    }
};

TEST_F(ControlTest, EndToEnd_WorkerKeepsWorkingWhileFileRegionIsPulled) {
    EvictedFile file(8 << 20);
    ASSERT_NE(file.map, nullptr);
    if (homa::mem::mincore_resident(file.map, kPage)) {
        GTEST_SKIP() << "/var/tmp kept the file in the page cache (tmpfs?): nothing to pull";
    }
    ASSERT_FALSE(homa::mem::mincore_resident(file.map, file.len));
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);  // shares core 1 with the worker
    Worker w{ctl_, reply_, file.map, file.len};
    ASSERT_EQ(rte_eal_remote_launch(Worker::run, &w, worker_lcore()), 0);
    for (int i = 0; i < 30000 && !w.finished.load(std::memory_order_acquire); ++i) usleep(1000);
    ASSERT_TRUE(w.finished.load()) << "no answer within 30 s";
    EXPECT_EQ(rte_eal_wait_lcore(worker_lcore()), 0);
    EXPECT_EQ(ctl_->stop(), 0);
    EXPECT_EQ(w.error, 0);
    EXPECT_TRUE(w.resident);
    EXPECT_EQ(w.pulled, file.len);
    EXPECT_GT(w.other_work, 0u);
    EXPECT_TRUE(homa::mem::mincore_resident(file.map, file.len));
    ::testing::Test::RecordProperty("other_work", std::to_string(w.other_work));
    printf("worker loop iterations while the control lcore pulled 8 MiB: %lu\n",
           static_cast<unsigned long>(w.other_work));
}

}  // namespace
}  // namespace homa::dp
