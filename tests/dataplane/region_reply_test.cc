// Region replies (SocketService::reply_region: a server answering from a FilePager) over a
// net_ring pair: the server's worker answers a request from an evicted file while it keeps
// echoing other RPCs; the client gets the header and every byte; an abort during the pull
// cancels it and the application answers instead; a pull that fails tells the application;
// a resident body starts at once; bad calls are refused. The test's thread is the worker lcore
// of both sides; the control lcore runs on lcore 2 (sharing core 1) or is stepped by the test.
#include <gtest/gtest.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <cerrno>
#include <vector>

#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/socket_service.h"
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

constexpr uint16_t kFilePort = 98;
constexpr uint16_t kEchoPort = 99;
constexpr uint32_t kLen = test::kEvictedFileLen - 8;  // room for the 8-byte header
const uint8_t kHeader[8] = {'H', 'D', 'R', '0', '1', '2', '3', '4'};

struct Done {
    int calls = 0;
    dp::RegionReplyResult last;
    uint64_t cookie = 0;
    static void fn(void *ctx, uint64_t cookie, const dp::RegionReplyResult &r) {
        auto *d = static_cast<Done *>(ctx);
        ++d->calls;
        d->last = r;
        d->cookie = cookie;
    }
};

class RegionReplyTest : public ::testing::Test {
  protected:
    void SetUp() override {
        static int serial = 0;
        name_ = "rr" + std::to_string(serial++);
        pair_ = std::make_unique<RingPair>(name_, 64u << 20);
        ASSERT_NE(file_.pager, nullptr);
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
        svc_ = dp::SocketService::create(*pair_->a.worker, sc, &err);  // the server's worker
        ASSERT_NE(svc_, nullptr) << err;
        ASSERT_EQ(dp::Socket::open(*pair_->a.worker, kFilePort, &server_), 0);
        ASSERT_EQ(dp::Socket::open(*pair_->a.worker, kEchoPort, &echo_), 0);
        ASSERT_EQ(dp::Socket::open(*pair_->b.worker, 0, &client_), 0);
    }
    void TearDown() override {
        if (launched_) ctl_->stop();
        server_.close();
        echo_.close();
        client_.close();
        for (int i = 0; i < 100000 && pair_->a.worker->sends_in_flight() != 0; ++i) step();
        svc_.reset();
        dp::ControlLcore::destroy(ctl_);
        pair_.reset();
    }
    void launch() {
        unsigned poller = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
        ASSERT_EQ(ctl_->launch(rte_get_next_lcore(poller, 1, 0)), 0);
        launched_ = true;
    }
    void step() {
        pair_->poll();
        dp::RecvMessage req;
        while (echo_.recv(kRecvRequest, 0, &req) == 0) (void)echo_.reply_with(std::move(req));
    }
    // Sends a small request to the file port and returns the server's view of it.
    bool request(dp::RecvMessage *got, uint64_t *client_id) {
        std::vector<uint8_t> small(40, 0x11);
        if (client_.send({kIpA, kFilePort}, small, 9, client_id) != 0) return false;
        for (int i = 0; i < 1'000'000; ++i) {
            step();
            if (server_.recv(kRecvRequest, 0, got) == 0) return true;
        }
        return false;
    }
    bool response(uint64_t id, dp::RecvMessage *out) {
        for (int i = 0; i < 4'000'000; ++i) {
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
    mem::ResidencyChain chain_, control_chain_;
    std::unique_ptr<RingPair> pair_;
    dp::ControlLcore *ctl_ = nullptr;
    std::unique_ptr<dp::SocketService> svc_;
    dp::Socket server_, echo_, client_;
    bool launched_ = false;
};

TEST_F(RegionReplyTest, EvictedFileArrivesByteExactWhileWorkerKeepsServing) {
    if (!file_.evicted) GTEST_SKIP() << "/var/tmp kept the file in the page cache (tmpfs?)";
    launch();
    dp::RecvMessage req;
    uint64_t cid = 0;
    ASSERT_TRUE(request(&req, &cid));
    Done done;
    ASSERT_EQ(server_.reply_region(*svc_, req.peer(), req.id(), {kHeader, sizeof(kHeader)},
                                   file_.pager->data() + 8, kLen, 42, Done::fn, &done),
              0);
    req.release();
    EXPECT_EQ(svc_->stats().region_pulls, 1u);
    // Echo RPCs complete while the control lcore pulls.
    int echoed = 0;
    uint64_t echo_id = 0;
    std::vector<uint8_t> small(100, 0x42);
    while (svc_->regions_pending() != 0) {
        if (echo_id == 0) { ASSERT_EQ(client_.send({kIpA, kEchoPort}, small, 1, &echo_id), 0); }
        step();
        dp::RecvMessage r;
        if (client_.recv(kRecvResponse, echo_id, &r) == 0) {
            ++echoed;
            echo_id = 0;
        }
    }
    if (echo_id != 0) {
        dp::RecvMessage r;
        ASSERT_TRUE(response(echo_id, &r));
    }
    dp::RecvMessage resp;
    ASSERT_TRUE(response(cid, &resp));
    ASSERT_EQ(resp.error(), 0);
    ASSERT_EQ(resp.length(), sizeof(kHeader) + kLen);
    std::vector<uint8_t> got(resp.length());
    ASSERT_EQ(resp.copy_to(got), got.size());
    EXPECT_EQ(memcmp(got.data(), kHeader, sizeof(kHeader)), 0);
    for (uint32_t i = 0; i < kLen; ++i) ASSERT_EQ(got[8 + i], file_byte(8 + i)) << i;
    resp.release();
    ASSERT_TRUE(quiescent());
    EXPECT_EQ(done.calls, 1);
    EXPECT_EQ(done.cookie, 42u);
    EXPECT_EQ(done.last.error, 0);
    EXPECT_TRUE(done.last.pulled);
    EXPECT_GT(done.last.pull_ns, 0u);
    dp::SocketServiceStats s = svc_->stats();
    EXPECT_EQ(s.region_replies, 1u);
    EXPECT_EQ(s.region_replies_sent, 1u);
    EXPECT_EQ(s.region_started, 1u);
    EXPECT_GT(s.polls_while_pulling, 0u);
    printf("echo RPCs completed while the control lcore pulled 1 MB: %d\n", echoed);
}

TEST_F(RegionReplyTest, AbortDuringPullCancelsItAndTheApplicationAnswers) {
    dp::RecvMessage req;
    uint64_t cid = 0;
    ASSERT_TRUE(request(&req, &cid));
    Done done;
    Endpoint peer = req.peer();
    uint64_t rid = req.id();
    ASSERT_EQ(
        server_.reply_region(*svc_, peer, rid, {}, file_.pager->data(), kLen, 1, Done::fn, &done),
        0);
    req.release();
    ASSERT_TRUE(ctl_->poll());  // takes the pull and does one chunk of it
    EXPECT_EQ(ctl_->stats().pulled_bytes, 64u * 1024);
    EXPECT_EQ(server_.abort(rid, -ECONNABORTED), 0);
    ASSERT_TRUE(ctl_->poll());  // sees the abort before the next chunk
    for (int i = 0; i < 1000 && done.calls == 0; ++i) step();
    ASSERT_EQ(done.calls, 1);
    EXPECT_EQ(done.last.error, -ECONNABORTED);
    EXPECT_EQ(ctl_->stats().pulls_cancelled, 1u);
    EXPECT_EQ(svc_->stats().region_aborted, 1u);
    EXPECT_EQ(svc_->stats().region_started, 0u);
    EXPECT_EQ(svc_->regions_pending(), 0u);
    // The RPC still waits for an answer: the application gives one.
    const uint8_t sorry[4] = {'N', 'O', 'P', 'E'};
    ASSERT_EQ(server_.reply(peer, rid, {sorry, 4}), 0);
    dp::RecvMessage resp;
    ASSERT_TRUE(response(cid, &resp));
    EXPECT_EQ(resp.length(), 4u);
    resp.release();
    ASSERT_TRUE(quiescent());
}

TEST_F(RegionReplyTest, CloseDuringPullCancelsIt) {
    dp::RecvMessage req;
    uint64_t cid = 0;
    ASSERT_TRUE(request(&req, &cid));
    Done done;
    ASSERT_EQ(server_.reply_region(*svc_, req.peer(), req.id(), {}, file_.pager->data(), kLen, 1,
                                   Done::fn, &done),
              0);
    req.release();
    ASSERT_TRUE(ctl_->poll());
    EXPECT_EQ(server_.close(), 0);
    while (ctl_->poll()) {}
    for (int i = 0; i < 1000 && done.calls == 0; ++i) step();
    ASSERT_EQ(done.calls, 1);
    EXPECT_EQ(done.last.error, -ECANCELED);  // closed: no error given, still not sent
    EXPECT_EQ(ctl_->stats().pulls_cancelled, 1u);
    (void)client_.abort(cid, 0);
    ASSERT_TRUE(quiescent());
}

TEST_F(RegionReplyTest, PullFailureTellsTheApplication) {
    ASSERT_EQ(control_chain_.register_first(
                  [](void *, const void *, size_t, bool pull, bool *resident) {
                      *resident = false;
                      return pull ? mem::HookResult::kDone : mem::HookResult::kContinue;
                  },
                  nullptr),
              0);
    dp::RecvMessage req;
    uint64_t cid = 0;
    ASSERT_TRUE(request(&req, &cid));
    Done done;
    Endpoint peer = req.peer();
    uint64_t rid = req.id();
    ASSERT_EQ(server_.reply_region(*svc_, peer, rid, {kHeader, 8}, file_.pager->data(), kLen, 2,
                                   Done::fn, &done),
              0);
    req.release();
    while (done.calls == 0) {
        ctl_->poll();
        step();
    }
    EXPECT_EQ(done.last.error, -EIO);
    EXPECT_TRUE(done.last.pulled);
    EXPECT_EQ(svc_->stats().region_failed, 1u);
    ASSERT_EQ(server_.reply(peer, rid, {kHeader, 8}), 0);
    dp::RecvMessage resp;
    ASSERT_TRUE(response(cid, &resp));
    EXPECT_EQ(resp.length(), 8u);
    resp.release();
    ASSERT_TRUE(quiescent());
}

TEST_F(RegionReplyTest, ResidentBodyStartsAtOnce) {
    auto *buf = static_cast<uint8_t *>(rte_malloc("rr", kLen, 64));
    ASSERT_NE(buf, nullptr);
    for (uint32_t i = 0; i < kLen; ++i) buf[i] = file_byte(i);
    dp::RecvMessage req;
    uint64_t cid = 0;
    ASSERT_TRUE(request(&req, &cid));
    Done done;
    ASSERT_EQ(server_.reply_region(*svc_, req.peer(), req.id(), {kHeader, 8}, buf, kLen, 3,
                                   Done::fn, &done),
              0);
    req.release();
    EXPECT_EQ(svc_->stats().region_resident, 1u);
    EXPECT_EQ(svc_->regions_pending(), 0u);
    dp::RecvMessage resp;
    ASSERT_TRUE(response(cid, &resp));
    ASSERT_EQ(resp.length(), kLen + 8);
    std::vector<uint8_t> got(resp.length());
    resp.copy_to(got);
    for (uint32_t i = 0; i < kLen; ++i) ASSERT_EQ(got[8 + i], file_byte(i)) << i;
    resp.release();
    ASSERT_TRUE(quiescent());
    EXPECT_EQ(done.calls, 1);
    EXPECT_EQ(done.last.error, 0);
    EXPECT_FALSE(done.last.pulled);
    EXPECT_EQ(ctl_->stats().pulls_done, 0u);
    rte_free(buf);
}

TEST_F(RegionReplyTest, BadCallsAreRefusedAndNothingRuns) {
    dp::RecvMessage req;
    uint64_t cid = 0;
    ASSERT_TRUE(request(&req, &cid));
    Endpoint peer = req.peer();
    uint64_t rid = req.id();
    req.release();
    Done done;
    const uint8_t *data = file_.pager->data();
    uint8_t big[dp::SocketService::kRegionHeaderMax + 1] = {};
    EXPECT_EQ(
        server_.reply_region(*svc_, peer, rid, {big, sizeof(big)}, data, 10, 0, Done::fn, &done),
        -EINVAL);
    EXPECT_EQ(server_.reply_region(*svc_, peer, rid, {}, nullptr, 10, 0, Done::fn, &done), -EINVAL);
    EXPECT_EQ(server_.reply_region(*svc_, peer, rid, {}, data, 0, 0, Done::fn, &done), -EINVAL);
    EXPECT_EQ(server_.reply_region(*svc_, peer, rid, {}, data, 10, 0, nullptr, &done), -EINVAL);
    EXPECT_EQ(
        server_.reply_region(*svc_, peer, rid, {kHeader, 8}, data, kLen + 1, 0, Done::fn, &done),
        -EMSGSIZE);
    dp::Socket unopened;
    EXPECT_EQ(unopened.reply_region(*svc_, peer, rid, {}, data, 10, 0, Done::fn, &done), -EBADF);
    // A resident body for an RPC that does not exist: the engine refuses at once.
    auto *buf = static_cast<uint8_t *>(rte_malloc("rr", 100, 64));
    EXPECT_EQ(server_.reply_region(*svc_, peer, rid + 2, {}, buf, 100, 0, Done::fn, &done),
              -ENOENT);
    EXPECT_EQ(done.calls, 0);
    EXPECT_EQ(svc_->stats().region_replies, 0u);
    ASSERT_EQ(server_.reply(peer, rid, {kHeader, 8}), 0);
    dp::RecvMessage resp;
    ASSERT_TRUE(response(cid, &resp));
    resp.release();
    ASSERT_TRUE(quiescent());
    rte_free(buf);
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("region_reply", 1024, {"--lcores=0@0,1@1,2@1"}));
    return RUN_ALL_TESTS();
}
