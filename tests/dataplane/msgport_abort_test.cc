// Message ports: every abort case, one per ordering of events, on one thread where the test
// chooses the order. The multi-lcore abort race lives in msgport_abort_stress_test.cc.
#include <gtest/gtest.h>

#include "homa/dataplane/msgport.h"
#include "tests/dataplane/msgport_fixture.h"

namespace homa::dp {
namespace {

using test::MsgPortTest;

struct AbortCase : MsgPortTest {
    void SetUp() override {
        target = make(8);
        replies = make(8);
        m.init(9, replies, kAbortable);
        ASSERT_EQ(send_msg(*target, &m), 0);
    }
    MessagePort *target = nullptr;
    MessagePort *replies = nullptr;
    PortMessage m;
};

TEST_F(AbortCase, AbortMsg_NotAbortableIsRefused) {
    PortMessage plain;
    plain.init(1, replies);
    ASSERT_EQ(send_msg(*target, &plain), 0);
    EXPECT_EQ(abort_msg(&plain), -EPERM);
}

TEST_F(AbortCase, AbortMsg_NotInFlightIsRefused) {
    PortMessage idle;
    idle.init(1, replies, kAbortable);
    EXPECT_EQ(abort_msg(&idle), -EALREADY);
}

TEST_F(AbortCase, AbortMsg_BeforeRetrievalCommandIsSeenFirst) {
    ASSERT_EQ(abort_msg(&m), 0);
    EXPECT_EQ(abort_msg(&m), -EALREADY);
    auto first = drain(target);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0]->delivery(), Delivery::kCommand);
    auto second = drain(target);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0]->delivery(), Delivery::kAbort);
    ASSERT_EQ(reply_msg(&m, -ECANCELED), 0);
    auto back = drain(replies);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0]->error(), -ECANCELED);
    EXPECT_TRUE(back[0]->flags() & kMsgAborted);
    EXPECT_TRUE(drain(target).empty());
    EXPECT_EQ(target->stats().aborts, 1u);
}

TEST_F(AbortCase, AbortMsg_WhileHeldIsSeenOnNextReceive) {
    ASSERT_EQ(drain(target).size(), 1u);
    ASSERT_EQ(abort_msg(&m), 0);
    auto again = drain(target);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0]->delivery(), Delivery::kAbort);
    ASSERT_EQ(reply_msg(&m, -ECANCELED), 0);
    EXPECT_EQ(drain(replies).size(), 1u);
}

TEST_F(AbortCase, AbortMsg_RacingReplyHoldsReplyUntilAbortSeen) {
    ASSERT_EQ(drain(target).size(), 1u);
    ASSERT_EQ(abort_msg(&m), 0);
    ASSERT_EQ(reply_msg(&m, 17), 0);  // the reply lost the race: held
    EXPECT_EQ(reply_msg(&m, 18), -EALREADY);
    EXPECT_TRUE(drain(replies).empty());
    auto again = drain(target);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0]->delivery(), Delivery::kAbort);
    EXPECT_TRUE(m.flags() & kMsgReplied);
    ASSERT_EQ(reply_msg(&m, -ECANCELED), 0);  // acknowledges; the first error stands
    auto back = drain(replies);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0]->error(), 17);
    EXPECT_TRUE(drain(replies).empty());
}

TEST_F(AbortCase, AbortMsg_AfterReplyIsTooLate) {
    ASSERT_EQ(drain(target).size(), 1u);
    ASSERT_EQ(reply_msg(&m, 1), 0);
    EXPECT_EQ(abort_msg(&m), -EALREADY);
    EXPECT_TRUE(drain(target).empty());
    EXPECT_EQ(drain(replies).size(), 1u);
}

TEST_F(AbortCase, AbortMsg_ChasesForwardedMessage) {
    MessagePort *next = make(8);
    ASSERT_EQ(drain(target).size(), 1u);
    ASSERT_EQ(abort_msg(&m), 0);           // token sent to `target`...
    ASSERT_EQ(forward_msg(*next, &m), 0);  // ...which passes the message on first
    EXPECT_TRUE(drain(target).empty());    // chases the token to `next`
    EXPECT_EQ(target->stats().abort_chases, 1u);
    auto first = drain(next);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0]->delivery(), Delivery::kCommand);
    auto second = drain(next);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0]->delivery(), Delivery::kAbort);
    EXPECT_EQ(forward_msg(*target, &m), -EINVAL);  // an abort command must be replied
    ASSERT_EQ(reply_msg(&m, -ECANCELED), 0);
    EXPECT_EQ(drain(replies).size(), 1u);
    EXPECT_TRUE(drain(target).empty());
    EXPECT_TRUE(drain(next).empty());
}

TEST_F(AbortCase, AbortMsg_AfterForwardGoesStraightToNewPort) {
    MessagePort *next = make(8);
    ASSERT_EQ(drain(target).size(), 1u);
    ASSERT_EQ(forward_msg(*next, &m), 0);
    ASSERT_EQ(abort_msg(&m), 0);
    auto first = drain(next);  // abort overtook nothing: command first, still
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0]->delivery(), Delivery::kCommand);
    auto second = drain(next);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0]->delivery(), Delivery::kAbort);
    ASSERT_EQ(reply_msg(&m, -ECANCELED), 0);
    EXPECT_EQ(drain(replies).size(), 1u);
    EXPECT_EQ(target->stats().abort_chases, 0u);
}

TEST_F(AbortCase, AbortMsg_ForwardRefusedThenReplied) {
    MessagePort *full = make(1);
    PortMessage filler;
    filler.init(1, replies);
    ASSERT_EQ(send_msg(*full, &filler), 0);
    ASSERT_EQ(drain(target).size(), 1u);
    ASSERT_EQ(abort_msg(&m), 0);
    EXPECT_EQ(forward_msg(*full, &m), -ENOBUFS);
    auto again = drain(target);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0]->delivery(), Delivery::kAbort);
    ASSERT_EQ(reply_msg(&m, -ECANCELED), 0);
    EXPECT_EQ(drain(replies).size(), 1u);
}

TEST_F(AbortCase, DoMsg_AbortAfterTimeoutStillRepliesOnce) {
    PortMessage sync;
    sync.init(2, nullptr, kAbortable);
    EXPECT_EQ(do_msg(*target, &sync, 1000), -ETIMEDOUT);
    ASSERT_EQ(abort_msg(&sync), 0);
    auto got = drain(target);  // m's command, sync's command
    ASSERT_EQ(got.size(), 2u);
    auto aborts = drain(target);
    ASSERT_EQ(aborts.size(), 1u);
    EXPECT_EQ(aborts[0], &sync);
    EXPECT_EQ(aborts[0]->delivery(), Delivery::kAbort);
    ASSERT_EQ(reply_msg(&sync, -ECANCELED), 0);
    EXPECT_EQ(wait_msg(&sync, 0), 0);
    EXPECT_EQ(sync.error(), -ECANCELED);
}

}  // namespace
}  // namespace homa::dp
