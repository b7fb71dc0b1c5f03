// Region sends (the sendfile path) over a net_ring pair: a body in a FilePager over a file that
// was evicted from the page cache is pulled by the control lcore while the worker keeps serving
// other RPCs, then sent and verified; an abort or a close during the pull cancels it; a resident
// body starts at once. The test's thread is the worker lcore (it polls both workers and runs the
// run-to-completion sockets); the control lcore runs on lcore 2 (sharing core 1), or is stepped
// by the test. Last, the same from an application thread (RemoteSocket::send_region): then the
// workers are polled on lcore 1 and the test's thread is the application.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <vector>

#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/remote_socket.h"
#include "homa/dataplane/socket_service.h"
#include "homa/mem/file_pager.h"
#include "homa/mem/pager_residency.h"
#include "homa/mem/residency.h"
#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/evicted_file.h"

namespace homa {
namespace {

using test::EvictedFile;
using test::file_byte;
using test::kIpA;
using test::kIpB;
using test::RingPair;

constexpr uint16_t kPort = 99;
constexpr uint32_t kLen = test::kEvictedFileLen;

// True if the worker's timetrace holds a record reading exactly `text`.
bool traced(dp::Worker &w, const std::string &text) {
    for (const auto &r : w.timetrace()->snapshot()) {
        if (format_record(r) == text) return true;
    }
    return false;
}

void count_done(void *ctx, uint64_t) { ++*static_cast<int *>(ctx); }

class RegionSendTest : public ::testing::Test {
  protected:
    void SetUp() override {
        static int serial = 0;
        name_ = "rg" + std::to_string(serial++);
        pair_ =
            std::make_unique<RingPair>(name_, 64u << 20, nullptr, nullptr, 2);  // cache 1: the app
        ASSERT_NE(file_.pager, nullptr);
        // The worker's chain never takes the pager's lock; the control lcore's asks the pager.
        ASSERT_EQ(chain_.register_first(mem::pager_residency_hook_nolock, &file_.pager->pager()),
                  0);
        ASSERT_EQ(control_chain_.register_first(mem::pager_residency_hook, &file_.pager->pager()),
                  0);
        dp::ControlConfig cc;
        cc.residency = &control_chain_;
        cc.pull_chunk = 64 * 1024;
        ctl_ = dp::ControlLcore::create((name_ + "_ctl").c_str(), cc, SOCKET_ID_ANY);
        ASSERT_NE(ctl_, nullptr);
        dp::SocketServiceConfig sc;
        std::string cmd = name_ + "_cmd";
        sc.name = cmd.c_str();
        sc.control = ctl_;
        sc.residency = &chain_;
        std::string err;
        svc_ = dp::SocketService::create(*pair_->b.worker, sc, &err);
        ASSERT_NE(svc_, nullptr) << err;
        ASSERT_EQ(dp::Socket::open(*pair_->a.worker, kPort, &server_), 0);
        ASSERT_EQ(dp::Socket::open(*pair_->b.worker, 0, &client_), 0);
    }
    void TearDown() override {
        if (launched_) ctl_->stop();
        svc_.reset();
        dp::ControlLcore::destroy(ctl_);
        pair_.reset();
    }
    static unsigned poller_lcore() { return rte_get_next_lcore(rte_get_main_lcore(), 1, 0); }
    static unsigned control_lcore() { return rte_get_next_lcore(poller_lcore(), 1, 0); }
    void launch() {
        ASSERT_EQ(ctl_->launch(control_lcore()), 0);
        launched_ = true;
    }
    // One iteration of "the worker lcore": both workers polled, echo served.
    void step() {
        pair_->poll();
        dp::RecvMessage req;
        while (server_.recv(kRecvRequest, 0, &req) == 0) (void)server_.reply_with(std::move(req));
    }
    bool response(uint64_t id, dp::RecvMessage *out, int max_steps = 4'000'000) {
        for (int i = 0; i < max_steps; ++i) {
            if (client_.recv(kRecvResponse, id, out) == 0) return true;
            step();
        }
        return false;
    }
    bool quiescent() {
        for (int i = 0; i < 2'000'000; ++i) {
            step();
            bool done = svc_->regions_pending() == 0;
            for (auto *s : {&pair_->a, &pair_->b}) {
                s->pool->flush_cache(s->worker->pool_cache());
                done = done && s->worker->engine().live_rpcs() == 0 &&
                       s->worker->sends_in_flight() == 0 &&
                       s->pool->free_bpages() == s->pool->total_bpages();
            }
            if (done) return true;
        }
        return false;
    }

    std::string name_;
    EvictedFile file_;
    mem::ResidencyChain chain_;          // the worker's (SocketServiceConfig::residency)
    mem::ResidencyChain control_chain_;  // the control lcore's
    std::unique_ptr<RingPair> pair_;
    dp::ControlLcore *ctl_ = nullptr;
    std::unique_ptr<dp::SocketService> svc_;
    dp::Socket server_, client_;
    bool launched_ = false;
};

TEST_F(RegionSendTest, SendRegion_EvictedFileArrivesWhileWorkerKeepsServing) {
    if (!file_.evicted) GTEST_SKIP() << "/var/tmp kept the file in the page cache (tmpfs?)";
    launch();
    int done = 0;
    uint64_t id = 0;
    ASSERT_EQ(client_.send_region(*svc_, {kIpA, kPort}, file_.pager->data(), kLen, 77, &id,
                                  count_done, &done),
              0);
    EXPECT_NE(id, 0u);
    EXPECT_EQ(svc_->stats().region_pulls, 1u);  // not resident: the control lcore pulls it
    // Other RPCs go on while the pull runs.
    std::vector<uint8_t> small(100, 0x42);
    int others = 0;
    uint64_t other_id = 0;
    while (svc_->regions_pending() != 0) {
        if (other_id == 0) { ASSERT_EQ(client_.send({kIpA, kPort}, small, 1, &other_id), 0); }
        step();
        dp::RecvMessage r;
        if (client_.recv(kRecvResponse, other_id, &r) == 0) {
            ++others;
            other_id = 0;
        }
    }
    dp::RecvMessage r;
    if (other_id != 0) {
        ASSERT_TRUE(response(other_id, &r));
        r.release();
    }
    dp::RecvMessage resp;
    ASSERT_TRUE(response(id, &resp));
    EXPECT_EQ(resp.error(), 0);
    EXPECT_EQ(resp.cookie(), 77u);
    ASSERT_EQ(resp.length(), kLen);
    std::vector<uint8_t> got(kLen);
    ASSERT_EQ(resp.copy_to(got), kLen);
    for (uint32_t i = 0; i < kLen; ++i) ASSERT_EQ(got[i], file_byte(i)) << i;
    resp.release();
    ASSERT_TRUE(quiescent());
    EXPECT_EQ(done, 1);
    dp::SocketServiceStats s = svc_->stats();
    EXPECT_EQ(s.region_started, 1u);
    EXPECT_GT(s.polls_while_pulling, 0u);  // the worker kept polling while the pull ran
    EXPECT_EQ(ctl_->stats().pulls_done, 1u);
    EXPECT_EQ(ctl_->stats().pulled_bytes, kLen);
    EXPECT_GT(pair_->b.worker->stats().tx_copied, 0u);  // pager memory is not DPDK memory
    printf("worker polls while the control lcore pulled 1 MB: %lu; echo RPCs completed: %d\n",
           static_cast<unsigned long>(s.polls_while_pulling), others);
}

TEST_F(RegionSendTest, Abort_DuringPullCancelsItAndLeaksNothing) {
    int done = 0;
    uint64_t id = 0;
    ASSERT_EQ(client_.send_region(*svc_, {kIpA, kPort}, file_.pager->data(), kLen, 5, &id,
                                  count_done, &done),
              0);
    ASSERT_TRUE(ctl_->poll());  // the control lcore takes the pull and does one chunk
    EXPECT_EQ(svc_->regions_pending(), 1u);
    EXPECT_EQ(client_.abort(id, ECONNABORTED), 0);
    ASSERT_TRUE(ctl_->poll());  // sees the abort before the next chunk
    dp::RecvMessage resp;
    ASSERT_TRUE(response(id, &resp));
    EXPECT_EQ(resp.error(), ECONNABORTED);
    EXPECT_EQ(done, 1);  // the memory is the application's again
    EXPECT_EQ(ctl_->stats().pulls_cancelled, 1u);
    EXPECT_EQ(ctl_->stats().pulls_done, 0u);
    EXPECT_EQ(svc_->stats().region_aborted, 1u);
    EXPECT_EQ(svc_->stats().region_started, 0u);
    EXPECT_EQ(pair_->b.worker->stats().tx_copied + pair_->b.worker->stats().tx_zero_copy, 0u);
    EXPECT_EQ(client_.abort(id, ECONNABORTED), -ENOENT);  // nothing left to abort
    ASSERT_TRUE(quiescent());
}

TEST_F(RegionSendTest, Close_DuringPullCancelsIt) {
    int done = 0;
    uint64_t id = 0;
    ASSERT_EQ(client_.send_region(*svc_, {kIpA, kPort}, file_.pager->data(), kLen, 5, &id,
                                  count_done, &done),
              0);
    ASSERT_TRUE(ctl_->poll());
    EXPECT_EQ(client_.close(), 0);
    while (ctl_->poll()) {}
    ASSERT_TRUE(quiescent());
    EXPECT_EQ(done, 1);
    EXPECT_EQ(ctl_->stats().pulls_cancelled, 1u);
}

TEST_F(RegionSendTest, SendRegion_ResidentBodyStartsAtOnce) {
    auto *buf = static_cast<uint8_t *>(rte_malloc("region", kLen, 64));
    ASSERT_NE(buf, nullptr);
    for (uint32_t i = 0; i < kLen; ++i) buf[i] = file_byte(i);
    int done = 0;
    uint64_t id = 0;
    ASSERT_EQ(client_.send_region(*svc_, {kIpA, kPort}, buf, kLen, 3, &id, count_done, &done), 0);
    EXPECT_EQ(svc_->stats().region_resident, 1u);
    EXPECT_EQ(svc_->regions_pending(), 0u);
    dp::RecvMessage resp;
    ASSERT_TRUE(response(id, &resp));
    EXPECT_EQ(resp.length(), kLen);
    resp.release();
    ASSERT_TRUE(quiescent());
    EXPECT_EQ(done, 1);
    EXPECT_EQ(ctl_->stats().pulls_done, 0u);
    if (HOMA_TIMETRACE) {
        EXPECT_TRUE(traced(*pair_->b.worker,
                           "region send id " + std::to_string(id) + " length 1000000 resident"));
    }
    rte_free(buf);
}

TEST_F(RegionSendTest, SendRegion_PullFailureCompletesWithTheError) {
    // A hook in front that refuses every pull: the body never becomes resident.
    ASSERT_EQ(control_chain_.register_first(
                  [](void *, const void *, size_t, bool pull, bool *resident) {
                      *resident = false;
                      return pull ? mem::HookResult::kDone : mem::HookResult::kContinue;
                  },
                  nullptr),
              0);
    int done = 0;
    uint64_t id = 0;
    ASSERT_EQ(client_.send_region(*svc_, {kIpA, kPort}, file_.pager->data(), kLen, 5, &id,
                                  count_done, &done),
              0);
    while (svc_->regions_pending() != 0) {
        ctl_->poll();
        step();
    }
    dp::RecvMessage resp;
    ASSERT_TRUE(response(id, &resp));
    EXPECT_EQ(resp.error(), -EIO);
    EXPECT_EQ(done, 1);
    EXPECT_EQ(svc_->stats().region_failed, 1u);
    if (HOMA_TIMETRACE) {
        const std::string sid = std::to_string(id);
        EXPECT_TRUE(traced(*pair_->b.worker, "region pull sent id " + sid + " length 1000000"));
        EXPECT_TRUE(traced(*pair_->b.worker, "region pull done id " + sid + " error 0 resident 0"));
    }
    ASSERT_TRUE(quiescent());
}

// The workers' loop when the test's thread is the application.
struct Poller {
    std::function<void()> step;
    std::atomic<bool> stop{false};
    static int run(void *arg) {
        auto *p = static_cast<Poller *>(arg);
        while (!p->stop.load(std::memory_order_acquire)) p->step();
        return 0;
    }
};

TEST_F(RegionSendTest, RemoteSendRegion_EvictedFileFromAppThread) {
    if (!file_.evicted) GTEST_SKIP() << "/var/tmp kept the file in the page cache (tmpfs?)";
    launch();
    Poller poller{[this] { step(); }};
    ASSERT_EQ(rte_eal_remote_launch(Poller::run, &poller, poller_lcore()), 0);
    dp::RemoteSocketConfig rc;
    rc.pool_cache = 1;
    rc.op_timeout_ns = 10'000'000'000;
    std::unique_ptr<dp::RemoteSocket> app;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_, 0, rc, &app), 0);
    int done = 0;
    EXPECT_EQ(app->send_region({kIpA, kPort}, nullptr, 10, 1, count_done, &done), -EINVAL);
    ASSERT_EQ(app->send_region({kIpA, kPort}, file_.pager->data(), kLen, 42, count_done, &done), 0);
    dp::RecvMessage resp;
    ASSERT_EQ(app->recv_wait(kRecvResponse, 0, &resp, 20'000'000'000), 0);
    EXPECT_EQ(resp.cookie(), 42u);
    EXPECT_EQ(resp.error(), 0);
    EXPECT_NE(resp.id(), 0u);
    ASSERT_EQ(resp.length(), kLen);
    std::vector<uint8_t> got(kLen);
    ASSERT_EQ(resp.copy_to(got), kLen);
    for (uint32_t i = 0; i < kLen; ++i) ASSERT_EQ(got[i], file_byte(i)) << i;
    resp.release();
    // done runs on this thread, inside a later call, once the worker let go of the memory.
    dp::RecvMessage none;
    for (int i = 0; i < 20000 && done == 0; ++i) {
        (void)app->recv_wait(kRecvResponse, 0, &none, 1'000'000);
    }
    EXPECT_EQ(done, 1);
    EXPECT_EQ(app->stats().regions_done, 1u);
    EXPECT_EQ(app->close(), 0);
    EXPECT_EQ(app->slots_in_use(), 0u);
    app.reset();
    pair_->b.pool->flush_cache(1);
    poller.stop.store(true, std::memory_order_release);
    rte_eal_wait_lcore(poller_lcore());
    ASSERT_TRUE(quiescent());
    EXPECT_EQ(svc_->stats().region_pulls, 1u);
    EXPECT_EQ(svc_->stats().region_started, 1u);
    EXPECT_EQ(ctl_->stats().pulls_done, 1u);
}

TEST_F(RegionSendTest, SendRegion_Errors) {
    uint64_t id;
    const uint8_t *body = file_.pager->data();
    EXPECT_EQ(client_.send_region(*svc_, {kIpA, kPort}, nullptr, 10, 0, &id, nullptr, nullptr),
              -EINVAL);
    EXPECT_EQ(client_.send_region(*svc_, {kIpA, 0}, body, 10, 0, &id, nullptr, nullptr), -EINVAL);
    EXPECT_EQ(client_.send_region(*svc_, {kIpA, kPort}, body, kLen + 1, 0, &id, nullptr, nullptr),
              -EMSGSIZE);
    EXPECT_EQ(server_.send_region(*svc_, {kIpB, kPort}, body, 10, 0, &id, nullptr, nullptr),
              -EBADF);  // a socket of another worker
    dp::SocketServiceConfig sc;
    sc.name = "rg_nocontrol";
    std::string err;
    svc_.reset();  // a worker has one command port
    auto plain = dp::SocketService::create(*pair_->b.worker, sc, &err);
    ASSERT_NE(plain, nullptr) << err;
    EXPECT_EQ(client_.send_region(*plain, {kIpA, kPort}, body, 10, 0, &id, nullptr, nullptr),
              -EOPNOTSUPP);
    sc.name = "rg_second";
    EXPECT_EQ(dp::SocketService::create(*pair_->b.worker, sc, &err), nullptr);  // attached already
    EXPECT_NE(err.find("already has a command port"), std::string::npos) << err;
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("region_send", 1024, {"--lcores=0@0,1@1,2@1"}));
    return RUN_ALL_TESTS();
}
