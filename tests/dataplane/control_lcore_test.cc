// The control lcore, its requests one at a time: each request type, polled from the test's
// thread (so the order of events is the test's) or served by the launched lcore, aborts of
// pulls in progress, and requests it refuses. The launched lcore's life (stop, sleep, doorbell,
// racing aborts, pull turns, end to end with a worker) is control_lcore_launched_test.cc.
// Lcores: main on core 0; worker and control share core 1.

#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <string>
#include <vector>

#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/eal.h"
#include "homa/mem/residency.h"

#include "tests/dataplane/control_lcore_fixture.h"
#include "tests/dataplane/eal_environment.h"

namespace homa::dp {
namespace {

using namespace control_test;  // NOLINT: the fixture of control_lcore_fixture.h

TEST_F(ControlTest, Create_RejectsZeroChunk) {
    config_.pull_chunk = 0;
    EXPECT_EQ(ControlLcore::create(name_.c_str(), config_, SOCKET_ID_ANY), nullptr);
    EXPECT_EQ(rte_errno, EINVAL);
}

TEST_F(ControlTest, Launch_RejectsMainLcore) {
    create();
    EXPECT_EQ(ctl_->launch(rte_get_main_lcore()), -EINVAL);
    EXPECT_EQ(ctl_->stop(), -EINVAL);
}

TEST_F(ControlTest, ResidencyCheck_AnswersWithoutFaulting) {
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    Anon region(64 * kPage);
    ASSERT_NE(region.p, nullptr);
    PortMessage m;
    prepare_residency_check(&m, reply_, region.p, region.len);
    ASSERT_EQ(do_msg(ctl_->port(), &m, 5 * kSecond), 0);
    EXPECT_FALSE(m.body<RegionRequest>().resident);
    EXPECT_FALSE(homa::mem::mincore_resident(region.p, region.len));  // asking did not fault
    for (size_t off = 0; off < region.len; off += kPage) region.p[off] = 1;
    prepare_residency_check(&m, reply_, region.p, region.len);
    ASSERT_EQ(do_msg(ctl_->port(), &m, 5 * kSecond), 0);
    EXPECT_TRUE(m.body<RegionRequest>().resident);
    EXPECT_EQ(ctl_->stop(), 0);
    EXPECT_EQ(ctl_->stats().residency_checks, 2u);
}

TEST_F(ControlTest, Pull_MakesRegionResidentChunkByChunk) {
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    Anon region(1 << 20);
    ASSERT_NE(region.p, nullptr);
    ASSERT_FALSE(homa::mem::mincore_resident(region.p, region.len));
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    ASSERT_EQ(wait_msg(&m, 5 * kSecond), 0);
    EXPECT_EQ(m.error(), 0);
    EXPECT_TRUE(m.body<RegionRequest>().resident);
    EXPECT_EQ(m.body<RegionRequest>().pulled, region.len);
    EXPECT_TRUE(homa::mem::mincore_resident(region.p, region.len));
    EXPECT_EQ(ctl_->stop(), 0);
    ControlStats s = ctl_->stats();
    EXPECT_EQ(s.pulls_done, 1u);
    EXPECT_EQ(s.pulled_bytes, region.len);
}

TEST_F(ControlTest, Timetrace_RecordsPullChunksAndCalls) {
    if (!HOMA_TIMETRACE) GTEST_SKIP() << "built with -Dtimetrace=false";
    TraceFreeze freeze(rte_get_tsc_hz());
    std::string err;
    auto tt = Timetrace::create(64, freeze, &err);
    ASSERT_NE(tt, nullptr) << err;
    config_.timetrace = tt.get();
    create();  // not launched: this thread is the control lcore
    Anon region(256 * 1024);
    ASSERT_NE(region.p, nullptr);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    prepare_call(
        &m, reply_, [](void *) { return -7; }, nullptr);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    std::vector<std::string> got;
    for (const auto &r : tt->snapshot()) got.push_back(format_record(r));
    std::vector<std::string> want = {"ctl pull queued length 262144 pulls 1"};
    for (uint32_t off = 0; off < 262144; off += 65536) {
        want.push_back("ctl pull chunk offset " + std::to_string(off) + " length 65536 of 262144");
    }
    want.push_back("ctl pull done length 262144 resident 1");
    want.push_back("ctl call rc -7");
    EXPECT_EQ(got, want);
}

TEST_F(ControlTest, Pull_AbortedWhilePrefetchingIsCancelled) {
    create();  // not launched: this thread steps the service with poll()
    Anon region(1 << 20);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    ASSERT_TRUE(ctl_->poll());  // takes the request, pulls the first chunk
    ASSERT_EQ(abort_msg(&m), 0);
    ASSERT_TRUE(ctl_->poll());  // sees the abort command before the next chunk
    PortMessage *got;
    ASSERT_EQ(reply_->receive_burst(&got, 1), 1u);
    EXPECT_EQ(got, &m);
    EXPECT_EQ(m.error(), -ECANCELED);
    EXPECT_FALSE(m.body<RegionRequest>().resident);
    EXPECT_EQ(m.body<RegionRequest>().pulled, config_.pull_chunk);
    EXPECT_FALSE(ctl_->poll());  // nothing left to pull
    ControlStats s = ctl_->stats();
    EXPECT_EQ(s.pulls_cancelled, 1u);
    EXPECT_EQ(s.aborts_seen, 1u);
    EXPECT_EQ(s.pulls_done, 0u);
}

TEST_F(ControlTest, Pull_AbortBeforeServiceIsSeenAfterTheRequest) {
    create();
    Anon region(1 << 20);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    ASSERT_EQ(abort_msg(&m), 0);
    poll_until_replied(&m);
    EXPECT_EQ(m.error(), -ECANCELED);
    EXPECT_EQ(m.body<RegionRequest>().pulled, config_.pull_chunk);  // one chunk, then the abort
    EXPECT_EQ(ctl_->stats().aborts_seen, 1u);
}

TEST_F(ControlTest, Pull_AbortAfterAnswerIsTooLate) {
    create();
    Anon region(4 * kPage);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    EXPECT_EQ(abort_msg(&m), -EALREADY);
    EXPECT_EQ(m.error(), 0);
    EXPECT_TRUE(m.body<RegionRequest>().resident);
}

TEST_F(ControlTest, Call_RunsOnControlLcore) {
    create();
    ASSERT_EQ(ctl_->launch(control_lcore()), 0);
    unsigned ran_on = ~0u;
    PortMessage m;
    prepare_call(&m, reply_, record_lcore, &ran_on);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    ASSERT_EQ(wait_msg(&m, 5 * kSecond), 0);
    EXPECT_EQ(m.error(), 42);
    EXPECT_EQ(ran_on, control_lcore());
    EXPECT_EQ(ctl_->stop(), 0);
    EXPECT_EQ(ctl_->stats().calls, 1u);
}

TEST_F(ControlTest, Call_AbortedBeforeServiceKeepsItsResult) {
    create();
    unsigned ran_on = ~0u;
    PortMessage m;
    prepare_call(&m, reply_, record_lcore, &ran_on);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    ASSERT_EQ(abort_msg(&m), 0);
    poll_until_replied(&m);
    EXPECT_EQ(m.error(), 42);  // answered before the abort command was seen
    EXPECT_EQ(ctl_->stats().aborts_seen, 1u);
}

TEST_F(ControlTest, Call_NullFunctionIsInvalid) {
    create();
    PortMessage m;
    prepare_call(&m, reply_, nullptr, nullptr);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    EXPECT_EQ(m.error(), -EINVAL);
}

TEST_F(ControlTest, Stats_SnapshotCountsRequests) {
    create();
    unsigned ran_on;
    Anon region(kPage);
    PortMessage m;
    prepare_call(&m, reply_, record_lcore, &ran_on);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    prepare_residency_check(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    prepare_stats(&m, reply_);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    EXPECT_EQ(m.error(), 0);
    EXPECT_EQ(m.body<ControlStats>().calls, 1u);
    EXPECT_EQ(m.body<ControlStats>().residency_checks, 1u);
}

TEST_F(ControlTest, Serve_UnknownOpcodeIsRejected) {
    create();
    PortMessage m;
    m.init(0x7777, reply_);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    EXPECT_EQ(m.error(), -EOPNOTSUPP);
}

TEST_F(ControlTest, Serve_NoResidencyChainIsRejected) {
    config_.residency = nullptr;
    create();
    Anon region(kPage);
    PortMessage m;
    prepare_pull(&m, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &m), 0);
    poll_until_replied(&m);
    EXPECT_EQ(m.error(), -EOPNOTSUPP);
}

TEST_F(ControlTest, Serve_TooManyPullsIsBusy) {
    config_.max_pulls = 1;
    create();
    Anon region(1 << 20);
    PortMessage a, b;
    prepare_pull(&a, reply_, region.p, region.len);
    prepare_pull(&b, reply_, region.p, region.len);
    ASSERT_EQ(send_msg(ctl_->port(), &a), 0);
    ASSERT_EQ(send_msg(ctl_->port(), &b), 0);
    ctl_->poll();
    PortMessage *got;
    ASSERT_EQ(reply_->receive_burst(&got, 1), 1u);
    EXPECT_EQ(got, &b);
    EXPECT_EQ(b.error(), -EBUSY);
    poll_until_replied(&a);
    EXPECT_EQ(a.error(), 0);
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("control_lcore_test", 128, {"--lcores=0@0,1@1,2@1"}));
    return RUN_ALL_TESTS();
}
