// Timetrace rings and freezing (pure proto): records keep their order and arguments, the ring
// wraps keeping the newest, a freeze stops recording and an unfreeze resumes it, a peer's
// FREEZE freezes once per second at most, a reader racing the writer never sees a torn or
// overwritten record, dumps are merged in time order relative to the freeze, and the engine
// records its packets and freezes its host's rings on FREEZE; the pacer records each
// throttling once, not once per call.
#include "homa/proto/timetrace.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <sstream>
#include <thread>

#include "tests/proto/echo_apps.h"

namespace homa {
namespace {

constexpr uint64_t kHz = 1000;  // a test clock: 1000 ticks per second

std::unique_ptr<Timetrace> ring(TraceFreeze &f, uint32_t records) {
    std::string err;
    auto t = Timetrace::create(records, f, &err);
    EXPECT_NE(t, nullptr) << err;
    return t;
}

// Lines of a dump that are records (not "# " header lines).
std::vector<std::string> record_lines(const std::string &dump) {
    std::vector<std::string> out;
    std::istringstream in(dump);
    for (std::string l; std::getline(in, l);) {
        if (!l.empty() && l[0] != '#') out.push_back(l);
    }
    return out;
}

bool has_text(const std::vector<Timetrace::Record> &recs, const std::string &text) {
    for (const auto &r : recs) {
        if (format_record(r) == text) return true;
    }
    return false;
}

TEST(Timetrace, RecordsInOrderWithTheirArguments) {
    TraceFreeze f(kHz);
    auto t = ring(f, 16);
    t->record("a %u");
    t->record("b %u %u", 1, 2);
    t->record("c %u %u %u %u", 3, 4, 5, 6);
    auto recs = t->snapshot();
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_STREQ(recs[0].format, "a %u");
    EXPECT_STREQ(recs[1].format, "b %u %u");
    EXPECT_STREQ(recs[2].format, "c %u %u %u %u");
    EXPECT_EQ(recs[1].args[0], 1u);
    EXPECT_EQ(recs[1].args[1], 2u);
    EXPECT_EQ(recs[2].args[3], 6u);
    EXPECT_LE(recs[0].ticks, recs[1].ticks);
    EXPECT_LE(recs[1].ticks, recs[2].ticks);
    EXPECT_EQ(format_record(recs[2]), "c 3 4 5 6");
    EXPECT_EQ(t->recorded(), 3u);
}

// Spins until the trace clock has moved past `t`, so that a record that reads it must differ.
void clock_moves_past(uint64_t t) {
    while (trace_clock() <= t) {}
}

TEST(Timetrace, StageClockGivesAStageOneTimeAndOtherRecordsTheirOwn) {
    TraceFreeze f(kHz);
    auto t = ring(f, 16);
    EXPECT_FALSE(t->stage_clock_used());
    t->begin_stage_clock();
    t->record("stage 1 a");
    clock_moves_past(trace_clock());
    t->record("stage 1 b");
    t->new_stage();
    t->record("stage 2");
    clock_moves_past(trace_clock());
    t->end_stage_clock();
    t->record("own 1");
    clock_moves_past(trace_clock());
    t->record("own 2");
    auto recs = t->snapshot();
    ASSERT_EQ(recs.size(), 5u);
    EXPECT_EQ(recs[0].ticks, recs[1].ticks);  // one read for the stage
    EXPECT_LT(recs[1].ticks, recs[2].ticks);  // a new stage reads the clock again
    EXPECT_LT(recs[2].ticks, recs[3].ticks);  // outside: each record its own read
    EXPECT_LT(recs[3].ticks, recs[4].ticks);
    EXPECT_TRUE(t->stage_clock_used());
    // A frozen ring neither records nor takes a stage's time: the first record after the
    // unfreeze reads the clock.
    t->begin_stage_clock();
    f.freeze();
    t->record("frozen");
    f.unfreeze();
    clock_moves_past(trace_clock());
    const uint64_t before = trace_clock();
    t->record("after");
    recs = t->snapshot();
    ASSERT_EQ(recs.size(), 6u);
    EXPECT_GE(recs[5].ticks, before);
    // The dump tells its reader that some times are a stage's.
    auto plain = ring(f, 16);
    TraceSource src[] = {{"w0", t.get()}, {"w1", plain.get()}};
    std::string dump = format_timetraces(src, f, "10.0.0.1");
    EXPECT_NE(dump.find("# ring w0 capacity 16 recorded 6 kept 6 stage clock\n"), std::string::npos)
        << dump;
    EXPECT_NE(dump.find("# ring w1 capacity 16 recorded 0 kept 0\n"), std::string::npos) << dump;
}

TEST(Timetrace, RingWrapsKeepingTheNewest) {
    TraceFreeze f(kHz);
    auto t = ring(f, 16);
    for (uint32_t i = 0; i < 40; ++i) t->record("n %u", i);
    EXPECT_EQ(t->recorded(), 40u);
    auto recs = t->snapshot();
    // capacity - 1: the oldest slot is the one a running writer may be rewriting.
    ASSERT_EQ(recs.size(), 15u);
    for (uint32_t k = 0; k < recs.size(); ++k) EXPECT_EQ(recs[k].args[0], 25 + k);
}

TEST(Timetrace, FreezeStopsRecordingAndUnfreezeResumes) {
    TraceFreeze f(kHz);
    auto a = ring(f, 64);
    auto b = ring(f, 64);  // another lcore of the same host
    a->record("before");
    b->record("before");
    EXPECT_TRUE(f.freeze());
    EXPECT_FALSE(f.freeze());  // already frozen
    EXPECT_TRUE(f.frozen());
    a->record("during");
    b->record("during");
    EXPECT_EQ(a->recorded(), 1u);
    EXPECT_EQ(b->recorded(), 1u);
    f.unfreeze();
    a->record("after");
    auto recs = a->snapshot();
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_STREQ(recs[1].format, "after");
    EXPECT_EQ(f.freezes(), 1u);
}

TEST(Timetrace, PeerFreezeOncePerSecond) {
    TraceFreeze f(kHz);
    EXPECT_TRUE(f.freeze_from_peer(5000));
    EXPECT_TRUE(f.frozen());
    EXPECT_FALSE(f.freeze_from_peer(5100));  // frozen already
    f.unfreeze();
    EXPECT_FALSE(f.freeze_from_peer(5999));  // 999 ms after the freeze: the same incident
    EXPECT_FALSE(f.frozen());
    EXPECT_EQ(f.ignored(), 2u);
    EXPECT_TRUE(f.freeze_from_peer(6000));  // a second later: a new freeze
    EXPECT_EQ(f.freezes(), 2u);
    f.unfreeze();
    EXPECT_TRUE(f.freeze(6001));  // an operator is not held off
    EXPECT_EQ(f.freeze_ticks(), 6001u);
}

TEST(Timetrace, SyncFreezeFreezesAndAsksThePeers) {
    TraceFreeze f(kHz);
    EXPECT_EQ(f.sync_requests(), 0u);
    EXPECT_TRUE(f.sync_freeze());
    EXPECT_TRUE(f.frozen());
    EXPECT_EQ(f.sync_requests(), 1u);
    EXPECT_FALSE(f.sync_freeze());  // frozen already, but the peers are asked again
    EXPECT_EQ(f.sync_requests(), 2u);
}

TEST(Timetrace, CreateRejectsBadCapacities) {
    TraceFreeze f(kHz);
    for (uint32_t bad : {0u, 8u, 15u, 17u, 1000u, 1u << 23}) {
        std::string err;
        EXPECT_EQ(Timetrace::create(bad, f, &err), nullptr) << bad;
        EXPECT_NE(err.find("power of two"), std::string::npos) << err;
    }
    EXPECT_NE(Timetrace::create(16, f, nullptr), nullptr);
}

TEST(Timetrace, UnsafeFormatsArePrintedRawNotGivenToPrintf) {
    Timetrace::Record r{0, "id %u name %s", {7, 8, 9, 10}};
    EXPECT_EQ(format_record(r), "(unsafe format \"id %u name %s\") 7 8 9 10");
    r.format = "%u %u %u %u %u";
    EXPECT_EQ(format_record(r).rfind("(unsafe format", 0), 0u);
    r.format = "%lu";
    EXPECT_EQ(format_record(r).rfind("(unsafe format", 0), 0u);
    r.format = "100%% of %u, peer 0x%08x %-3d|%c";
    r.args[1] = 0x0A000001;
    r.args[2] = static_cast<uint32_t>(-5);
    r.args[3] = 'z';
    EXPECT_EQ(format_record(r), "100% of 7, peer 0x0a000001 -5 |z");
    r.format = nullptr;
    EXPECT_EQ(format_record(r), "(no format) 7 167772161 4294967291 122");
}

TEST(Timetrace, DumpMergesRingsInTimeOrderRelativeToTheFreeze) {
    TraceFreeze f(1'000'000'000);
    auto w0 = ring(f, 64);
    auto w1 = ring(f, 64);
    for (uint32_t i = 0; i < 10; ++i) {
        w0->record("even %u", 2 * i);
        w1->record("odd %u", 2 * i + 1);
    }
    f.freeze();
    TraceSource src[] = {{"w0", w0.get()}, {"w1", w1.get()}, {"ctl", nullptr}};
    std::string dump = format_timetraces(src, f, "10.0.0.1");
    EXPECT_NE(dump.find("# homa timetrace v1\n# host 10.0.0.1\n"), std::string::npos) << dump;
    EXPECT_NE(dump.find("# reference freeze (freezes 1"), std::string::npos) << dump;
    EXPECT_NE(dump.find("# ring w0 capacity 64 recorded 10 kept 10\n"), std::string::npos);
    EXPECT_NE(dump.find("# ring ctl off\n"), std::string::npos);
    auto lines = record_lines(dump);
    ASSERT_EQ(lines.size(), 20u);
    double prev = -1e18;
    for (size_t k = 0; k < lines.size(); ++k) {
        std::istringstream in(lines[k]);
        double us;
        std::string name, word;
        uint32_t n;
        in >> us >> name >> word >> n;
        EXPECT_LE(us, 0.0) << lines[k];  // recorded before the freeze
        EXPECT_GE(us, prev) << lines[k];
        prev = us;
        EXPECT_EQ(name, n % 2 ? "w1" : "w0");
        EXPECT_EQ(n, k) << "interleaved in recording order: " << lines[k];
    }
}

// A reader copying while the writer runs must never return a record that was being rewritten:
// each record carries (i, i, i, i) and a snapshot must be consecutive.
TEST(Timetrace, SnapshotWhileWritingNeverTears) {
    TraceFreeze f(kHz);
    auto t = ring(f, 16);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            t->record("x", i, i, i, i);
        }
    });
    uint64_t snapshots = 0, bad = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (std::chrono::steady_clock::now() < end) {
        auto recs = t->snapshot();
        ++snapshots;
        for (size_t k = 0; k < recs.size(); ++k) {
            const auto &r = recs[k];
            bool same = r.args[0] == r.args[1] && r.args[1] == r.args[2] && r.args[2] == r.args[3];
            bool next = k == 0 || r.args[0] == recs[k - 1].args[0] + 1;
            bad += !(same && next && r.format != nullptr);
        }
    }
    stop = true;
    writer.join();
    EXPECT_GT(snapshots, 0u);
    EXPECT_EQ(bad, 0u);
}

// ----- the engine -----

using test::EchoClient;
using test::EchoServer;
using test::SimHost;
using test::SimNetwork;

constexpr uint32_t kServerIp = 0x0A000001;
constexpr uint32_t kClientIp = 0x0A000002;

TEST(TimetraceEngine, RecordsOneRpcOnBothEnds) {
    if (!HOMA_TIMETRACE) GTEST_SKIP() << "built with -Dtimetrace=false";
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, EngineConfig{});
    SimHost &c = net.add_host(kClientIp, EngineConfig{});
    TraceFreeze fs(kHz), fc(kHz);
    auto ts = ring(fs, 1024), tc = ring(fc, 1024);
    s.engine.set_timetrace(ts.get());
    c.engine.set_timetrace(tc.get());
    EXPECT_EQ(c.engine.timetrace(), tc.get());
    EchoServer server(s, 99);
    EchoClient client(c);
    uint64_t id = client.send({kServerIp, 99}, 100, net.now());
    uint64_t big = client.send({kServerIp, 99}, 5000, net.now());  // four packets
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        return client.completed() == 2;
    }));
    auto cr = tc->snapshot(), sr = ts->snapshot();
    const std::string cid = std::to_string(id), sid = std::to_string(id ^ 1);
    EXPECT_TRUE(has_text(cr, "send request id " + cid + " length 100 to 0xa000001"));
    EXPECT_TRUE(has_text(sr, "rx DATA id " + sid + " offset 0 length 100 retx 0"));
    // A one-packet message completes at its rx DATA: only longer ones get the record.
    EXPECT_FALSE(has_text(sr, "msg complete id " + sid + " length 100"));
    EXPECT_TRUE(has_text(sr, "msg complete id " + std::to_string(big ^ 1) + " length 5000"));
    EXPECT_TRUE(has_text(cr, "msg complete id " + std::to_string(big) + " length 5000"));
    EXPECT_TRUE(has_text(sr, "recv id " + sid + " length 100 error 0"));
    EXPECT_TRUE(has_text(sr, "send reply id " + sid + " length 100"));
    EXPECT_TRUE(has_text(cr, "rx DATA id " + cid + " offset 0 length 100 retx 0"));
    EXPECT_TRUE(has_text(cr, "recv id " + cid + " length 100 error 0"));
}

// The pacer holds bulk for call after call: it records when it starts holding and, once it lets
// a paced message out again (or has nothing left to hold), for how many calls it held, so the
// ring is not filled with one record per poll. The counts add up to the engine's statistic.
TEST(TimetraceEngine, PacerRecordsEachThrottlingOnceWithItsLength) {
    if (!HOMA_TIMETRACE) GTEST_SKIP() << "built with -Dtimetrace=false";
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, EngineConfig{});
    SimHost &c = net.add_host(kClientIp, EngineConfig{});
    TraceFreeze fc(kHz);
    auto tc = ring(fc, 1 << 16);
    c.engine.set_timetrace(tc.get());
    EchoServer server(s, 99);
    EchoClient client(c);
    for (int i = 0; i < 3; ++i) client.send({kServerIp, 99}, 300'000, net.now());
    // Polls at one instant: the first fills the NIC queue estimate, the next four are held.
    for (int i = 0; i < 5; ++i) c.engine.poll(net.now());
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        return client.completed() == 3;
    }));
    c.engine.poll(net.now() + 1'000'000);  // an empty queue closes the last episode
    uint64_t started = 0, released = 0, held_calls = 0;
    bool open = false;
    for (const auto &r : tc->snapshot()) {
        const std::string text = format_record(r);
        if (text.rfind("pacer throttled:", 0) == 0) {
            EXPECT_FALSE(open) << "a second start before the release";
            open = true;
            ++started;
        } else if (text.rfind("pacer released after ", 0) == 0) {
            EXPECT_TRUE(open) << "a release without a start";
            open = false;
            ++released;
            held_calls += r.args[0];
        }
    }
    EXPECT_FALSE(open);
    EXPECT_GT(started, 0u);
    EXPECT_EQ(released, started);
    EXPECT_EQ(held_calls, c.engine.stats().pacer_throttled);
    EXPECT_GT(held_calls, started);  // episodes of several calls, each recorded once
}

// An episode also ends when what the pacer held goes away without being let out (here
// aborted): the next throttling is a new episode with its own record.
TEST(TimetraceEngine, PacerTracesAgainAfterWhatItHeldWasAborted) {
    if (!HOMA_TIMETRACE) GTEST_SKIP() << "built with -Dtimetrace=false";
    SimNetwork net;
    SimHost &c = net.add_host(kClientIp, EngineConfig{});
    TraceFreeze fc(kHz);
    auto tc = ring(fc, 1024);
    c.engine.set_timetrace(tc.get());
    EchoClient client(c);
    auto count = [&](const char *prefix) {
        int n = 0;
        for (const auto &r : tc->snapshot()) n += format_record(r).rfind(prefix, 0) == 0;
        return n;
    };
    for (int round = 1; round <= 2; ++round) {
        client.send({kServerIp, 99}, 300'000, net.now());
        // The first poll sends until the pacer holds the rest; the next two are held at once.
        for (int i = 0; i < 3; ++i) c.engine.poll(net.now());
        EXPECT_EQ(count("pacer throttled:"), round);
        ASSERT_EQ(c.engine.abort(client.socket(), 0, ECANCELED, net.now()), 0);
        c.engine.poll(net.now());  // nothing left to hold
        EXPECT_EQ(count("pacer released after 3 throttled calls"), round);
    }
}

TEST(TimetraceEngine, FreezeFromAPeerFreezesOncePerSecond) {
    SimNetwork net;
    SimHost &a = net.add_host(kServerIp, EngineConfig{});
    SimHost &b = net.add_host(kClientIp, EngineConfig{});
    TraceFreeze fb(1'000'000'000);  // the real clock: FREEZEs below come microseconds apart
    auto tb = ring(fb, 64);
    b.engine.set_timetrace(tb.get());
    ASSERT_EQ(a.engine.send_freeze_to_peers(), 0u);  // a knows no peer yet
    ASSERT_EQ(a.engine.send_freeze(kClientIp), 0);
    net.flush(kServerIp);
    net.step();
    EXPECT_TRUE(fb.frozen());
    EXPECT_EQ(fb.freezes(), 1u);
    if (HOMA_TIMETRACE) { EXPECT_TRUE(has_text(tb->snapshot(), "rx FREEZE from 0xa000001")); }
    uint64_t recorded = tb->recorded();
    // More FREEZE within the second: ignored, frozen or not.
    ASSERT_EQ(a.engine.send_freeze(kClientIp), 0);
    net.flush(kServerIp);
    net.step();
    fb.unfreeze();
    ASSERT_EQ(a.engine.send_freeze(kClientIp), 0);
    net.flush(kServerIp);
    net.step();
    EXPECT_FALSE(fb.frozen());
    EXPECT_EQ(fb.freezes(), 1u);
    EXPECT_EQ(fb.ignored(), 2u);
    if (HOMA_TIMETRACE) {
        EXPECT_GT(tb->recorded(), recorded);  // recording again
    }
    // An engine without a ring takes FREEZE as before: counted, nothing to freeze.
    b.engine.set_timetrace(nullptr);
    ASSERT_EQ(a.engine.send_freeze(kClientIp), 0);
    net.flush(kServerIp);
    net.step();
    EXPECT_EQ(b.engine.stats().rx(wire::PacketType::kFreeze), 4u);
}

}  // namespace
}  // namespace homa
