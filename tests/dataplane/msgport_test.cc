// Message ports: creation, ordering, sync/async, wait for one message, forward chains, ring-full
// backpressure and reply batches. The abort cases are in msgport_abort_test.cc (same binary),
// the multi-lcore abort race in msgport_abort_stress_test.cc.
#include "homa/dataplane/msgport.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include <atomic>
#include <string>
#include <vector>

#include "homa/dataplane/eal.h"
#include "homa/dataplane/port_message_pool.h"

#include "tests/dataplane/eal_environment.h"
#include "tests/dataplane/msgport_fixture.h"

namespace homa::dp {
namespace {

using test::kSecond;
using test::MsgPortTest;
using test::Seq;

TEST_F(MsgPortTest, Create_RejectsZeroCapacity) {
    EXPECT_EQ(MessagePort::create("zero", 0, MessagePortMode::kSingleProducer, SOCKET_ID_ANY),
              nullptr);
    EXPECT_EQ(rte_errno, EINVAL);
}

TEST_F(MsgPortTest, Create_RejectsDuplicateName) {
    MessagePort *a = MessagePort::create("dup", 8, MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(MessagePort::create("dup", 8, MessagePortMode::kSingleProducer, SOCKET_ID_ANY),
              nullptr);
    EXPECT_EQ(rte_errno, EEXIST);
    MessagePort::destroy(a);
}

TEST_F(MsgPortTest, ReceiveBurst_IdleReturnsZero) {
    MessagePort *p = make(8);
    EXPECT_TRUE(drain(p).empty());
}

TEST_F(MsgPortTest, SendMsg_CommandsAndRepliesKeepOrder) {
    MessagePort *target = make(128);
    MessagePort *replies = make(128);
    std::vector<PortMessage> msgs(100);
    for (uint32_t i = 0; i < msgs.size(); ++i) {
        msgs[i].init(1, replies);
        msgs[i].body<Seq>().value = i;
        ASSERT_EQ(send_msg(*target, &msgs[i]), 0);
        EXPECT_EQ(msgs[i].flags(), kMsgQueued | kMsgAsync);
    }
    uint32_t next = 0;
    while (next < msgs.size()) {
        auto got = drain(target);
        ASSERT_FALSE(got.empty());
        EXPECT_LE(got.size(), kMessagePortBurst);
        for (PortMessage *m : got) {
            EXPECT_EQ(m->delivery(), Delivery::kCommand);
            EXPECT_EQ(m->flags(), kMsgRetrieved | kMsgAsync);
            EXPECT_EQ(m->body<Seq>().value, next++);
            ASSERT_EQ(reply_msg(m, -static_cast<int>(m->body<Seq>().value)), 0);
        }
    }
    next = 0;
    while (next < msgs.size()) {
        auto got = drain(replies);
        ASSERT_FALSE(got.empty());
        for (PortMessage *m : got) {
            EXPECT_EQ(m->delivery(), Delivery::kReply);
            EXPECT_EQ(m, &msgs[next]);
            EXPECT_EQ(m->error(), -static_cast<int>(next));
            EXPECT_TRUE(m->flags() & kMsgDone);
            ++next;
        }
    }
    EXPECT_EQ(target->stats().commands, 100u);
    EXPECT_EQ(replies->stats().replies, 100u);
}

TEST_F(MsgPortTest, SendMsg_RingFullIsBackpressure) {
    MessagePort *target = make(4);
    MessagePort *replies = make(8);
    PortMessage msgs[5];
    for (int i = 0; i < 4; ++i) {
        msgs[i].init(1, replies);
        ASSERT_EQ(send_msg(*target, &msgs[i]), 0);
    }
    msgs[4].init(1, replies, kAbortable);
    EXPECT_EQ(send_msg(*target, &msgs[4]), -ENOBUFS);
    EXPECT_EQ(msgs[4].flags(), kMsgDone | kMsgAbortable);  // untouched, still the sender's
    EXPECT_EQ(target->count(), 4u);
    PortMessage *one;
    ASSERT_EQ(target->receive_burst(&one, 1), 1u);
    EXPECT_EQ(send_msg(*target, &msgs[4]), 0);
    EXPECT_EQ(target->count(), 4u);
}

TEST_F(MsgPortTest, SendMsg_InFlightIsBusy) {
    MessagePort *target = make(4);
    MessagePort *replies = make(4);
    PortMessage m;
    m.init(1, replies);
    ASSERT_EQ(send_msg(*target, &m), 0);
    EXPECT_EQ(send_msg(*target, &m), -EBUSY);
    EXPECT_EQ(do_msg(*target, &m, 0), -EBUSY);
}

TEST_F(MsgPortTest, SendMsg_NoReplyPortIsInvalid) {
    MessagePort *target = make(4);
    PortMessage m;
    EXPECT_EQ(send_msg(*target, &m), -EINVAL);
}

// A server lcore for the synchronous tests: replies to each command with its body's value.
struct EchoServer {
    MessagePort *port;
    std::atomic<bool> stop{false};
    std::atomic<uint32_t> served{0};
    static int run(void *arg) {
        auto *self = static_cast<EchoServer *>(arg);
        PortMessage *got[kMessagePortBurst];
        while (!self->stop.load(std::memory_order_acquire)) {
            unsigned n = self->port->receive_burst(got, kMessagePortBurst);
            for (unsigned i = 0; i < n; ++i) {
                reply_msg(got[i], static_cast<int>(got[i]->body<Seq>().value));
                self->served.fetch_add(1);
            }
            if (n == 0) sched_yield();  // shares a core with the test thread
        }
        return 0;
    }
};

unsigned other_lcore() { return rte_get_next_lcore(rte_lcore_id(), 1, 0); }

TEST_F(MsgPortTest, DoMsg_WaitsForReplyFromOtherLcore) {
    EchoServer server{make(16)};
    ASSERT_EQ(rte_eal_remote_launch(EchoServer::run, &server, other_lcore()), 0);
    PortMessage m;
    for (uint32_t i = 1; i <= 50; ++i) {
        m.init(7, nullptr);
        m.body<Seq>().value = i;
        ASSERT_EQ(do_msg(*server.port, &m, 5 * kSecond), static_cast<int>(i));
        EXPECT_TRUE(m.flags() & kMsgDone);
        EXPECT_FALSE(m.flags() & kMsgAsync);
    }
    server.stop = true;
    EXPECT_EQ(rte_eal_wait_lcore(other_lcore()), 0);
    EXPECT_EQ(server.served.load(), 50u);
}

TEST_F(MsgPortTest, DoMsg_TimesOutThenWaitMsgCollects) {
    MessagePort *target = make(4);
    PortMessage m;
    m.init(7, nullptr);
    m.body<Seq>().value = 3;
    EXPECT_EQ(do_msg(*target, &m, 1000000), -ETIMEDOUT);  // nobody serves the port yet
    EXPECT_FALSE(m.flags() & kMsgDone);
    auto got = drain(target);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(reply_msg(got[0], 3), 0);
    EXPECT_EQ(wait_msg(&m, 0), 0);
    EXPECT_EQ(m.error(), 3);
}

TEST_F(MsgPortTest, WaitMsg_TakesOneReplyAndLeavesTheOthersInOrder) {
    MessagePort *target = make(8);
    MessagePort *replies = make(8);
    PortMessage a, b, c;
    for (PortMessage *m : {&a, &b, &c}) {
        m->init(1, replies);
        ASSERT_EQ(send_msg(*target, m), 0);
    }
    EXPECT_EQ(wait_msg(&b, 1000000), -ETIMEDOUT);  // nothing replied yet
    auto got = drain(target);
    ASSERT_EQ(got.size(), 3u);
    for (PortMessage *m : {&c, &a, &b}) ASSERT_EQ(reply_msg(m, 0), 0);
    EXPECT_EQ(wait_msg(&b, kSecond), 0);
    EXPECT_TRUE(b.flags() & kMsgDone);
    auto rest = drain(replies);
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(rest[0], &c);
    EXPECT_EQ(rest[1], &a);
    EXPECT_EQ(rest[0]->delivery(), Delivery::kReply);
}

TEST_F(MsgPortTest, WaitPort_ReturnsAnyMessageOrTimesOut) {
    MessagePort *p = make(4);
    MessagePort *replies = make(4);
    EXPECT_EQ(p->wait_port(1000000), nullptr);
    PortMessage m;
    m.init(1, replies);
    ASSERT_EQ(send_msg(*p, &m), 0);
    EXPECT_EQ(p->wait_port(kSecond), &m);
}

TEST_F(MsgPortTest, ForwardMsg_ChainRepliesOnceToOriginalReplyPort) {
    MessagePort *a = make(4);
    MessagePort *b = make(4);
    MessagePort *c = make(4);
    MessagePort *replies = make(4);
    PortMessage m;
    m.init(1, replies);
    ASSERT_EQ(send_msg(*a, &m), 0);
    MessagePort *chain[] = {a, b, c};
    for (int hop = 0; hop < 2; ++hop) {
        auto got = drain(chain[hop]);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0]->delivery(), Delivery::kCommand);
        ASSERT_EQ(forward_msg(*chain[hop + 1], got[0]), 0);
        EXPECT_EQ(m.flags(), kMsgQueued | kMsgAsync);
        EXPECT_TRUE(drain(replies).empty());
    }
    auto got = drain(c);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(reply_msg(got[0], 42), 0);
    auto back = drain(replies);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0]->error(), 42);
    EXPECT_TRUE(drain(replies).empty());
    EXPECT_TRUE(drain(a).empty());
    EXPECT_TRUE(drain(b).empty());
}

TEST_F(MsgPortTest, ForwardMsg_FullRingLeavesItWithTheHolder) {
    MessagePort *a = make(4);
    MessagePort *full = make(1);
    MessagePort *replies = make(4);
    PortMessage filler, m;
    filler.init(1, replies);
    ASSERT_EQ(send_msg(*full, &filler), 0);
    m.init(1, replies);
    ASSERT_EQ(send_msg(*a, &m), 0);
    auto got = drain(a);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(forward_msg(*full, &m), -ENOBUFS);
    EXPECT_EQ(m.flags(), kMsgRetrieved | kMsgAsync);
    ASSERT_EQ(reply_msg(&m, 5), 0);  // still held: the holder may reply instead
    auto back = drain(replies);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0]->error(), 5);
}

TEST_F(MsgPortTest, ForwardMsg_NotHeldIsInvalid) {
    MessagePort *a = make(4);
    MessagePort *replies = make(4);
    PortMessage m;
    m.init(1, replies);
    EXPECT_EQ(forward_msg(*a, &m), -EINVAL);  // never sent
    ASSERT_EQ(send_msg(*a, &m), 0);
    EXPECT_EQ(forward_msg(*a, &m), -EINVAL);  // queued, not retrieved
}

TEST_F(MsgPortTest, ReplyMsg_NotHeldIsInvalid) {
    MessagePort *a = make(4);
    MessagePort *replies = make(4);
    PortMessage m;
    m.init(1, replies);
    EXPECT_EQ(reply_msg(&m, 0), -EINVAL);
    ASSERT_EQ(send_msg(*a, &m), 0);
    EXPECT_EQ(reply_msg(&m, 0), -EINVAL);
    drain(a);
    ASSERT_EQ(reply_msg(&m, 0), 0);
    EXPECT_EQ(reply_msg(&m, 0), -EINVAL);  // on its way home
}

TEST_F(MsgPortTest, ReplyMsg_FullReplyRingSpillsToOverflowInOrder) {
    MessagePort *target = make(8);
    MessagePort *replies = make(2);
    PortMessage msgs[6];
    for (auto &m : msgs) {
        m.init(1, replies);
        ASSERT_EQ(send_msg(*target, &m), 0);
    }
    for (PortMessage *m : drain(target)) ASSERT_EQ(reply_msg(m, 0), 0);
    EXPECT_EQ(replies->stats().reply_overflows, 4u);
    auto back = drain(replies);
    ASSERT_EQ(back.size(), 6u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(back[i], &msgs[i]);
}

// ---- bursts: send_msg_burst, ReplyBatch ----

TEST_F(MsgPortTest, SendMsgBurst_SendsInOrderAndLeavesWhatDidNotFitUntouched) {
    MessagePort *target = make(5);
    MessagePort *replies = make(16);
    PortMessage msgs[8];
    PortMessage *ptrs[8];
    for (uint32_t i = 0; i < 8; ++i) {
        msgs[i].init(1, replies, i == 7 ? kAbortable : false);
        msgs[i].body<Seq>().value = i;
        ptrs[i] = &msgs[i];
    }
    ASSERT_EQ(send_msg(*target, &msgs[0]), 0);           // one slot of 5 taken already
    EXPECT_EQ(send_msg_burst(*target, ptrs + 1, 7), 4);  // the first 4 fit
    for (int i = 1; i <= 4; ++i) EXPECT_EQ(msgs[i].flags(), kMsgQueued | kMsgAsync);
    for (int i = 5; i < 8; ++i) {
        EXPECT_EQ(msgs[i].flags(), kMsgDone | (i == 7 ? kMsgAbortable : 0));  // still ours
    }
    EXPECT_EQ(send_msg_burst(*target, ptrs + 5, 3), 0);  // full: nothing, nothing changed
    EXPECT_EQ(msgs[5].flags(), kMsgDone);
    auto got = drain(target);
    ASSERT_EQ(got.size(), 5u);
    for (uint32_t i = 0; i < 5; ++i) {
        EXPECT_EQ(got[i], &msgs[i]);
        EXPECT_EQ(got[i]->delivery(), Delivery::kCommand);
        ASSERT_EQ(reply_msg(got[i], static_cast<int>(i)), 0);
    }
    EXPECT_EQ(send_msg_burst(*target, ptrs + 5, 3), 3);
    got = drain(target);
    ASSERT_EQ(got.size(), 3u);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(got[i]->body<Seq>().value, 5 + i);
    EXPECT_EQ(drain(replies).size(), 5u);
    EXPECT_EQ(target->stats().commands, 8u);
}

TEST_F(MsgPortTest, SendMsgBurst_RefusesAllIfOneCannotBeSent) {
    MessagePort *target = make(8);
    MessagePort *replies = make(8);
    PortMessage msgs[3];
    PortMessage *ptrs[3] = {&msgs[0], &msgs[1], &msgs[2]};
    for (auto &m : msgs) m.init(1, replies);
    ASSERT_EQ(send_msg(*target, &msgs[1]), 0);  // in flight
    EXPECT_EQ(send_msg_burst(*target, ptrs, 3), -EBUSY);
    EXPECT_EQ(msgs[0].flags(), kMsgDone);
    EXPECT_EQ(target->count(), 1u);
    PortMessage orphan;
    orphan.init(1, nullptr);
    PortMessage *bad[2] = {&msgs[0], &orphan};
    EXPECT_EQ(send_msg_burst(*target, bad, 2), -EINVAL);  // no reply port
    EXPECT_EQ(msgs[0].flags(), kMsgDone);
    std::vector<PortMessage> many(kMessagePortBurst + 1);
    std::vector<PortMessage *> many_ptrs;
    for (auto &m : many) {
        m.init(1, replies);
        many_ptrs.push_back(&m);
    }
    EXPECT_EQ(send_msg_burst(*target, many_ptrs.data(), kMessagePortBurst + 1), -EINVAL);
    EXPECT_EQ(target->count(), 1u);
    EXPECT_EQ(send_msg_burst(*target, ptrs, 0), 0);
}

TEST_F(MsgPortTest, ReplyBatch_HoldsRepliesUntilFlushThenKeepsOrderPerPort) {
    MessagePort *target = make(32, MessagePortMode::kMultiProducer);  // and lcore 1's do_msg
    MessagePort *ra = make(16);
    MessagePort *rb = make(16);
    PortMessage msgs[10];
    for (uint32_t i = 0; i < 10; ++i) {
        msgs[i].init(1, i % 3 == 0 ? rb : ra);  // interleaved reply ports
        msgs[i].body<Seq>().value = i;
        ASSERT_EQ(send_msg(*target, &msgs[i]), 0);
    }
    // A do_msg() caller on lcore 1 spins on its message: its reply is never delayed.
    static PortMessage sync;
    static MessagePort *sync_target;
    sync.init(2, nullptr);
    sync_target = target;
    const unsigned other = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
    ASSERT_EQ(rte_eal_remote_launch(
                  [](void *) { return do_msg(*sync_target, &sync, 10 * kSecond); }, nullptr, other),
              0);
    std::vector<PortMessage *> got;
    while (got.size() < 11) {
        for (PortMessage *m : drain(target)) got.push_back(m);
    }
    {
        ReplyBatch batch;
        for (PortMessage *m : got) {
            ASSERT_EQ(
                reply_msg(m, m == &sync ? 7 : -static_cast<int>(m->body<Seq>().value), &batch), 0);
        }
        EXPECT_EQ(reply_msg(&msgs[0], 0, &batch), -EALREADY);  // replied (and waiting) once
        EXPECT_EQ(batch.size(), 10u);
        EXPECT_TRUE(drain(ra).empty());  // not visible before the flush
        EXPECT_TRUE(drain(rb).empty());
        EXPECT_EQ(rte_eal_wait_lcore(other), 7);
        batch.flush();
        EXPECT_EQ(batch.size(), 0u);
    }
    auto a = drain(ra), b = drain(rb);
    ASSERT_EQ(a.size(), 6u);
    ASSERT_EQ(b.size(), 4u);
    std::vector<uint32_t> seq_a, seq_b;
    for (PortMessage *m : a) {
        EXPECT_EQ(m->delivery(), Delivery::kReply);
        EXPECT_EQ(m->error(), -static_cast<int>(m->body<Seq>().value));
        seq_a.push_back(m->body<Seq>().value);
    }
    for (PortMessage *m : b) seq_b.push_back(m->body<Seq>().value);
    EXPECT_EQ(seq_a, (std::vector<uint32_t>{1, 2, 4, 5, 7, 8}));
    EXPECT_EQ(seq_b, (std::vector<uint32_t>{0, 3, 6, 9}));
    EXPECT_EQ(ra->stats().replies, 6u);
}

TEST_F(MsgPortTest, ReplyBatch_FlushesWhenFullOrDestroyedAndSpillsAFullRing) {
    MessagePort *target = make(256);
    MessagePort *replies = make(ReplyBatch::kCapacity + 8);
    MessagePort *small = make(2);
    std::vector<PortMessage> msgs(ReplyBatch::kCapacity + 1);
    for (auto &m : msgs) {
        m.init(1, replies);
        ASSERT_EQ(send_msg(*target, &m), 0);
    }
    PortMessage spill[5];
    for (auto &m : spill) {
        m.init(1, small);
        ASSERT_EQ(send_msg(*target, &m), 0);
    }
    std::vector<PortMessage *> got;
    while (got.size() < msgs.size() + 5) {
        auto more = drain(target);
        ASSERT_FALSE(more.empty());
        got.insert(got.end(), more.begin(), more.end());
    }
    {
        ReplyBatch batch;
        for (size_t i = 0; i < msgs.size(); ++i) ASSERT_EQ(reply_msg(got[i], 0, &batch), 0);
        // The reply past kCapacity flushed the first kCapacity.
        EXPECT_EQ(batch.size(), 1u);
        EXPECT_EQ(replies->count(), ReplyBatch::kCapacity);
        for (size_t i = msgs.size(); i < got.size(); ++i) {
            ASSERT_EQ(reply_msg(got[i], 0, &batch), 0);
        }
    }  // destroyed: flushed
    EXPECT_EQ(replies->count(), ReplyBatch::kCapacity + 1);
    EXPECT_EQ(small->stats().reply_overflows, 3u);  // a ring of 2: the rest spill, in order
    auto back = drain(small);
    ASSERT_EQ(back.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(back[i], &spill[i]);
}

TEST(PortMessagePool, AllocFree_AllThenNoneThenBack) {
    PortMessagePool *pool = PortMessagePool::create("pool_test", 4, SOCKET_ID_ANY);
    ASSERT_NE(pool, nullptr);
    std::vector<PortMessage *> got;
    for (int i = 0; i < 4; ++i) {
        PortMessage *m = pool->alloc();
        ASSERT_NE(m, nullptr);
        EXPECT_TRUE(pool->owns(m));
        EXPECT_TRUE(m->flags() & kMsgDone);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(m) % 64, 0u);
        got.push_back(m);
    }
    EXPECT_EQ(pool->alloc(), nullptr);
    EXPECT_EQ(pool->available(), 0u);
    for (PortMessage *m : got) pool->free(m);
    EXPECT_EQ(pool->available(), 4u);
    PortMessagePool::destroy(pool);
}

TEST(PortMessagePool, Create_ZeroIsInvalid) {
    EXPECT_EQ(PortMessagePool::create("pool_zero", 0, SOCKET_ID_ANY), nullptr);
    EXPECT_EQ(rte_errno, EINVAL);
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("msgport_test", 128, {"--lcores=0@0,1@1"}));
    return RUN_ALL_TESTS();
}
