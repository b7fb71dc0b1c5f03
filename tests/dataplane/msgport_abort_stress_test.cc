// Abort stress: thousands of aborts racing replies and forwards across three lcores (two of
// them sharing a core). Afterwards every message was replied exactly once, every aborted
// message was seen as the abort command exactly once and only after its command, and nothing
// is left in any ring, backlog or target.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <vector>

#include "homa/dataplane/eal.h"
#include "homa/dataplane/msgport.h"

#include "tests/dataplane/eal_environment.h"

namespace homa::dp {
namespace {

// Written only by whoever holds the message; read by the sender once it is back.
struct Body {
    uint32_t flight;
    uint16_t hops;
    uint16_t commands_seen;
    uint16_t aborts_seen;
};

// A target lcore: replies at once, forwards to its peer, or holds a message for a while, at
// random; answers abort commands as msgport.h says.
struct Target {
    MessagePort *port = nullptr;
    MessagePort *peer = nullptr;
    uint32_t seed = 0;
    std::atomic<bool> stop{false};
    std::atomic<uint32_t> violations{0};
    std::atomic<uint32_t> held_at_exit{0};
    uint64_t acks = 0;  // abort commands for messages this target had already replied

    struct Held {
        PortMessage *msg;
        int countdown;
    };

    void violation() { violations.fetch_add(1, std::memory_order_relaxed); }

    void expect_ok(int rc) {
        if (rc != 0) violation();
    }

    static int run(void *arg) { return static_cast<Target *>(arg)->loop(); }

    int loop() {
        std::mt19937 rng(seed);
        std::vector<Held> held;
        PortMessage *got[kMessagePortBurst];
        for (;;) {
            unsigned n = port->receive_burst(got, kMessagePortBurst);
            for (unsigned i = 0; i < n; ++i) handle(got[i], held, rng);
            for (size_t i = 0; i < held.size();) {
                if (--held[i].countdown > 0) {
                    ++i;
                    continue;
                }
                expect_ok(reply_msg(held[i].msg, 0));
                held[i] = held.back();
                held.pop_back();
            }
            if (n == 0 && held.empty()) {
                if (stop.load(std::memory_order_acquire)) break;
                sched_yield();  // shares a core with the sender
            }
        }
        held_at_exit = static_cast<uint32_t>(held.size());
        return 0;
    }

    void handle(PortMessage *m, std::vector<Held> &held, std::mt19937 &rng) {
        Body &body = m->body<Body>();
        if (m->delivery() == Delivery::kReply) {
            violation();  // targets send nothing, so they never get replies
            return;
        }
        if (m->delivery() == Delivery::kCommand) {
            ++body.commands_seen;
            unsigned action = rng() % 10;
            if (action < 3 && body.hops < 3) {
                ++body.hops;
                if (forward_msg(*peer, m) == 0) return;
                --body.hops;  // peer full: backpressure, so answer here instead
                expect_ok(reply_msg(m, 0));
            } else if (action < 7) {
                held.push_back({m, 1 + static_cast<int>(rng() % 20)});
            } else {
                expect_ok(reply_msg(m, 0));
            }
            return;
        }
        // The abort command: only after the command, at the port holding the message.
        ++body.aborts_seen;
        if (body.commands_seen == 0) violation();
        auto it = std::find_if(held.begin(), held.end(), [m](const Held &h) { return h.msg == m; });
        if (it != held.end()) {
            *it = held.back();
            held.pop_back();
            expect_ok(reply_msg(m, -ECANCELED));
            return;
        }
        if (!(m->flags() & kMsgReplied)) violation();  // neither held nor replied here
        ++acks;
        expect_ok(reply_msg(m, -ECANCELED));
    }
};

struct Flight {
    bool abortable = false;
    bool aborted = false;  // abort_msg() returned 0
    int replies = 0;
};

TEST(AbortStress, AbortMsg_RacingRepliesAndForwards_EachSeenOnceRepliedOnce) {
    constexpr unsigned kFlights = 100000;
    constexpr unsigned kInFlight = 192;
    MessagePort *t1 =
        MessagePort::create("stress_t1", 64, MessagePortMode::kMultiProducer, SOCKET_ID_ANY);
    MessagePort *t2 =
        MessagePort::create("stress_t2", 64, MessagePortMode::kMultiProducer, SOCKET_ID_ANY);
    // Smaller than the messages in flight, so replies also take the overflow path.
    MessagePort *replies =
        MessagePort::create("stress_r", 32, MessagePortMode::kMultiProducer, SOCKET_ID_ANY);
    ASSERT_TRUE(t1 && t2 && replies);
    Target a, b;
    a.port = t1, a.peer = t2, a.seed = 1;
    b.port = t2, b.peer = t1, b.seed = 2;
    unsigned lcore_a = rte_get_next_lcore(rte_lcore_id(), 1, 0);
    unsigned lcore_b = rte_get_next_lcore(lcore_a, 1, 0);
    ASSERT_LT(lcore_b, RTE_MAX_LCORE);
    ASSERT_EQ(rte_eal_remote_launch(Target::run, &a, lcore_a), 0);
    ASSERT_EQ(rte_eal_remote_launch(Target::run, &b, lcore_b), 0);

    std::vector<PortMessage> msgs(kInFlight);
    std::vector<unsigned> free_slots;
    for (unsigned i = kInFlight; i-- > 0;) free_slots.push_back(i);
    std::vector<PortMessage *> in_flight;
    std::vector<Flight> flights(kFlights);
    std::mt19937 rng(3);
    unsigned sent = 0, done = 0, enobufs = 0, aborted = 0, bad_replies = 0;
    const uint64_t deadline = rte_get_timer_cycles() + 60 * rte_get_timer_hz();
    PortMessage *got[kMessagePortBurst];

    while (done < kFlights && rte_get_timer_cycles() < deadline) {
        while (sent < kFlights && !free_slots.empty()) {
            PortMessage *m = &msgs[free_slots.back()];
            bool abortable = rng() % 4 != 0;
            m->init(1, replies, abortable);
            m->body<Body>() = Body{sent, 0, 0, 0};
            m->cookie = sent;
            int rc = send_msg(rng() % 2 ? *t1 : *t2, m);
            if (rc == -ENOBUFS) {  // backpressure: still ours, try again next round
                ++enobufs;
                break;
            }
            ASSERT_EQ(rc, 0);
            free_slots.pop_back();
            flights[sent].abortable = abortable;
            in_flight.push_back(m);
            if (abortable && rng() % 3 == 0) {  // races the target's first retrieval
                int arc = abort_msg(m);
                EXPECT_TRUE(arc == 0 || arc == -EALREADY);  // -EALREADY: already replied
                flights[sent].aborted = arc == 0;
                aborted += arc == 0;
            }
            ++sent;
        }
        for (int k = 0; k < 2 && !in_flight.empty(); ++k) {  // races holds, forwards, replies
            PortMessage *m = in_flight[rng() % in_flight.size()];
            Flight &f = flights[m->cookie];  // cookie: the sender's, never touched in flight
            int rc = abort_msg(m);
            if (rc == 0) {
                EXPECT_FALSE(f.aborted);
                f.aborted = true;
                ++aborted;
            } else {
                EXPECT_EQ(rc, f.abortable ? -EALREADY : -EPERM);
            }
        }
        unsigned n = replies->receive_burst(got, kMessagePortBurst);
        for (unsigned i = 0; i < n; ++i) {
            PortMessage *m = got[i];
            if (m->delivery() != Delivery::kReply) {
                ++bad_replies;
                continue;
            }
            const Body &body = m->body<Body>();
            EXPECT_EQ(body.flight, m->cookie);
            Flight &f = flights[m->cookie];
            ++f.replies;
            EXPECT_EQ(body.aborts_seen, f.aborted ? 1 : 0) << "flight " << body.flight;
            EXPECT_GE(body.commands_seen, 1) << "flight " << body.flight;
            EXPECT_EQ((m->flags() & kMsgAborted) != 0, f.aborted) << "flight " << body.flight;
            in_flight.erase(std::find(in_flight.begin(), in_flight.end(), m));
            free_slots.push_back(static_cast<unsigned>(m - msgs.data()));
            ++done;
        }
        if (n == 0) sched_yield();
    }
    a.stop = true;
    b.stop = true;
    EXPECT_EQ(rte_eal_wait_lcore(lcore_a), 0);
    EXPECT_EQ(rte_eal_wait_lcore(lcore_b), 0);

    EXPECT_EQ(done, kFlights) << "timed out";
    EXPECT_EQ(bad_replies, 0u);
    for (unsigned i = 0; i < kFlights; ++i) ASSERT_EQ(flights[i].replies, 1) << "flight " << i;
    EXPECT_EQ(a.violations.load() + b.violations.load(), 0u);
    EXPECT_EQ(a.held_at_exit.load() + b.held_at_exit.load(), 0u);
    EXPECT_TRUE(in_flight.empty());
    EXPECT_EQ(free_slots.size(), kInFlight);
    for (MessagePort *p : {t1, t2, replies}) {
        EXPECT_EQ(p->count(), 0u) << p->name();
        EXPECT_EQ(p->receive_burst(got, kMessagePortBurst), 0u) << p->name();
    }
    EXPECT_EQ(t1->stats().aborts + t2->stats().aborts, aborted);
    EXPECT_GE(aborted, 2000u);
    ::testing::Test::RecordProperty("aborted", static_cast<int>(aborted));
    printf("flights %u aborted %u enobufs %u acks %lu chases %lu reply overflows %lu\n", done,
           aborted, enobufs, static_cast<unsigned long>(a.acks + b.acks),
           static_cast<unsigned long>(t1->stats().abort_chases + t2->stats().abort_chases),
           static_cast<unsigned long>(replies->stats().reply_overflows));
    for (MessagePort *p : {t1, t2, replies}) MessagePort::destroy(p);
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("msgport_abort_stress", 128, {"--lcores=0@0,1@1,2@0"}));
    return RUN_ALL_TESTS();
}
