// bench_msgport: what a message port costs, beside raw rte_ring in the same run, and what the
// control lcore's idle backoff costs and delays.
//
//   bench_msgport <EAL args> [-- --iters=N]
//   e.g. bench_msgport --no-huge --no-shconf -m 256 --lcores=0@0,1@1,2@1 --no-pci
//
// Lcores: main (sender) and lcore 1 (echo) for the port measurements; the control lcore runs
// on lcore 2, which may share a core with lcore 1 (the deployment this is written for).
// Reported:
//   1. round trip (ns): msgport send -> receive -> reply -> receive, vs. a pointer through two
//      rte_rings and back;
//   2. pipelined rate (messages/s, 256 in flight, each message goes there and back) vs. raw
//      rte_ring one-way pointer throughput in bursts of 32 and a raw ring round trip pipeline;
//   3. control lcore wake-up latency: request round trip when it is hot, and after it has gone
//      to sleep, woken by the doorbell or not; how long its sleeps really take; and the CPU
//      time the idle loop takes from its core (from /proc schedstat: unlike comparing a
//      worker's loop rate with and without it, this does not depend on what else the machine
//      runs), for the default backoff (SCHED_OTHER and SCHED_FIFO) and for fixed 50 us and
//      100 us sleeps; and the wake-up while a worker keeps the shared core busy.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_ring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/msgport.h"

namespace homa::dp {
namespace {

struct Percentiles {
    double p50, p99, max, mean;
};

Percentiles summarize(std::vector<uint64_t> cycles) {
    std::sort(cycles.begin(), cycles.end());
    const double ns_per_cycle = 1e9 / static_cast<double>(rte_get_tsc_hz());
    double sum = 0;
    for (uint64_t c : cycles) sum += static_cast<double>(c);
    auto at = [&](double q) {
        return static_cast<double>(cycles[static_cast<size_t>(q * (cycles.size() - 1))]) *
               ns_per_cycle;
    };
    return {at(0.5), at(0.99), at(1.0), sum / cycles.size() * ns_per_cycle};
}

void print(const char *what, const Percentiles &p) {
    printf("  %-44s p50 %9.0f  p99 %9.0f  max %10.0f  mean %9.0f ns\n", what, p.p50, p.p99, p.max,
           p.mean);
}

// ---- echo lcores ----

struct PortEcho {
    MessagePort *port;
    std::atomic<bool> stop{false};
    static int run(void *arg) {
        auto *e = static_cast<PortEcho *>(arg);
        PortMessage *got[kMessagePortBurst];
        while (!e->stop.load(std::memory_order_relaxed)) {
            unsigned n = e->port->receive_burst(got, kMessagePortBurst);
            for (unsigned i = 0; i < n; ++i) reply_msg(got[i], 0);
        }
        return 0;
    }
};

struct RingEcho {
    rte_ring *in, *out;
    bool touch = false;  // read and write each object, as any real receiver does
    std::atomic<bool> stop{false};
    static int run(void *arg) {
        auto *e = static_cast<RingEcho *>(arg);
        void *burst[32];
        while (!e->stop.load(std::memory_order_relaxed)) {
            unsigned n = rte_ring_dequeue_burst(e->in, burst, 32, nullptr);
            if (e->touch) {
                for (unsigned i = 0; i < n; ++i) ++static_cast<PortMessage *>(burst[i])->cookie;
            }
            unsigned done = 0;
            while (done < n)
                done += rte_ring_enqueue_burst(e->out, burst + done, n - done, nullptr);
        }
        return 0;
    }
};

struct RingSink {
    rte_ring *in;
    uint64_t expected;
    static int run(void *arg) {
        auto *s = static_cast<RingSink *>(arg);
        void *burst[32];
        uint64_t got = 0;
        while (got < s->expected) got += rte_ring_dequeue_burst(s->in, burst, 32, nullptr);
        return 0;
    }
};

// ---- 1. round trip ----

void round_trip(unsigned echo_lcore, unsigned iters) {
    MessagePort *target =
        MessagePort::create("bench_target", 1024, MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
    MessagePort *reply =
        MessagePort::create("bench_reply", 1024, MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
    PortEcho echo{target};
    rte_eal_remote_launch(PortEcho::run, &echo, echo_lcore);
    std::vector<uint64_t> samples(iters);
    PortMessage m, *got;
    for (unsigned i = 0; i < iters; ++i) {
        m.init(1, reply);
        uint64_t t0 = rte_rdtsc();
        send_msg(*target, &m);
        while (reply->receive_burst(&got, 1) == 0) {}
        samples[i] = rte_rdtsc() - t0;
    }
    echo.stop = true;
    rte_eal_wait_lcore(echo_lcore);
    print("msgport round trip", summarize(samples));

    rte_ring *ping =
        rte_ring_create("bench_ping", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring *pong =
        rte_ring_create("bench_pong", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    RingEcho recho{ping, pong};
    rte_eal_remote_launch(RingEcho::run, &recho, echo_lcore);
    void *obj = &m, *back;
    for (unsigned i = 0; i < iters; ++i) {
        uint64_t t0 = rte_rdtsc();
        rte_ring_enqueue(ping, obj);
        while (rte_ring_dequeue(pong, &back) != 0) {}
        samples[i] = rte_rdtsc() - t0;
    }
    recho.stop = true;
    rte_eal_wait_lcore(echo_lcore);
    print("raw rte_ring round trip (pointer)", summarize(samples));

    // ---- 2. rates ----
    constexpr unsigned kWindow = 256;
    std::vector<PortMessage> msgs(kWindow);
    PortEcho echo2{target};
    rte_eal_remote_launch(PortEcho::run, &echo2, echo_lcore);
    const uint64_t total = static_cast<uint64_t>(iters) * 20;
    uint64_t sent = 0, received = 0;
    std::vector<PortMessage *> free_list;
    for (auto &x : msgs) free_list.push_back(&x);
    PortMessage *burst[kMessagePortBurst];
    uint64_t t0 = rte_rdtsc();
    while (received < total) {
        while (sent < total && !free_list.empty()) {
            PortMessage *x = free_list.back();
            x->init(1, reply);
            if (send_msg(*target, x) != 0) break;
            free_list.pop_back();
            ++sent;
        }
        unsigned n = reply->receive_burst(burst, kMessagePortBurst);
        for (unsigned i = 0; i < n; ++i) free_list.push_back(burst[i]);
        received += n;
    }
    double secs = static_cast<double>(rte_rdtsc() - t0) / rte_get_tsc_hz();
    echo2.stop = true;
    rte_eal_wait_lcore(echo_lcore);
    printf("  %-44s %12.0f messages/s\n", "msgport pipelined (there and back, 256 out)",
           total / secs);

    std::vector<void *> ptrs(kWindow);
    for (bool touch : {false, true}) {  // touch: both sides write each object, as real ones do
        RingEcho recho2{ping, pong, touch};
        rte_eal_remote_launch(RingEcho::run, &recho2, echo_lcore);
        for (unsigned i = 0; i < kWindow; ++i) ptrs[i] = &msgs[i];
        sent = received = 0;
        unsigned have = kWindow;
        void *rb[32];
        t0 = rte_rdtsc();
        while (received < total) {
            unsigned want = static_cast<unsigned>(std::min<uint64_t>(have, total - sent));
            unsigned put = rte_ring_enqueue_burst(ping, ptrs.data() + (have - want), want, nullptr);
            have -= put;
            sent += put;
            unsigned n = rte_ring_dequeue_burst(pong, rb, 32, nullptr);
            for (unsigned i = 0; i < n; ++i) {
                if (touch) ++static_cast<PortMessage *>(rb[i])->cookie;
                ptrs[have++] = rb[i];
            }
            received += n;
        }
        secs = static_cast<double>(rte_rdtsc() - t0) / rte_get_tsc_hz();
        recho2.stop = true;
        rte_eal_wait_lcore(echo_lcore);
        printf("  %-44s %12.0f pointers/s\n",
               touch ? "raw rte_ring pipelined, both write each object"
                     : "raw rte_ring pipelined (there and back)",
               total / secs);
    }

    RingSink sink{ping, total};
    rte_eal_remote_launch(RingSink::run, &sink, echo_lcore);
    t0 = rte_rdtsc();
    for (uint64_t s = 0; s < total;) {
        s += rte_ring_enqueue_burst(ping, ptrs.data(), 32, nullptr);
    }
    rte_eal_wait_lcore(echo_lcore);
    secs = static_cast<double>(rte_rdtsc() - t0) / rte_get_tsc_hz();
    printf("  %-44s %12.0f pointers/s\n", "raw rte_ring one-way (bursts of 32)", total / secs);

    // msgport one-way: the receiver only receives; replies are not drained by the sender
    // until the end of each window (so the measured path is send_msg + receive_burst).
    MessagePort *oneway =
        MessagePort::create("bench_oneway", 4096, MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
    MessagePort *sink_reply = MessagePort::create("bench_oneway_r", 4096,
                                                  MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
    std::vector<PortMessage> many(4096);
    struct OneWaySink {
        MessagePort *port;
        uint64_t expected;
        static int run(void *arg) {
            auto *s = static_cast<OneWaySink *>(arg);
            PortMessage *b[kMessagePortBurst];
            uint64_t got = 0;
            while (got < s->expected) {
                unsigned n = s->port->receive_burst(b, kMessagePortBurst);
                for (unsigned i = 0; i < n; ++i) reply_msg(b[i], 0);
                got += n;
            }
            return 0;
        }
    } osink{oneway, total};
    rte_eal_remote_launch(OneWaySink::run, &osink, echo_lcore);
    t0 = rte_rdtsc();
    uint64_t osent = 0;
    std::vector<PortMessage *> back_free;
    for (auto &x : many) back_free.push_back(&x);
    while (osent < total) {
        if (back_free.empty()) {
            unsigned n;
            while ((n = sink_reply->receive_burst(burst, kMessagePortBurst)) > 0) {
                for (unsigned i = 0; i < n; ++i) back_free.push_back(burst[i]);
            }
            continue;
        }
        PortMessage *x = back_free.back();
        x->init(1, sink_reply);
        if (send_msg(*oneway, x) == 0) {
            back_free.pop_back();
            ++osent;
        }
    }
    rte_eal_wait_lcore(echo_lcore);
    secs = static_cast<double>(rte_rdtsc() - t0) / rte_get_tsc_hz();
    printf("  %-44s %12.0f messages/s\n", "msgport one-way (sink replies, drained late)",
           total / secs);
    while (sink_reply->receive_burst(burst, kMessagePortBurst) > 0) {}
    MessagePort::destroy(oneway);
    MessagePort::destroy(sink_reply);
    rte_ring_free(ping);
    rte_ring_free(pong);
    MessagePort::destroy(target);
    MessagePort::destroy(reply);
}

// ---- 3. control lcore wake-up ----

int noop(void *) { return 0; }

int record_tid(void *ctx);
uint64_t thread_cpu_ns(long tid);

// Wake-up latency and idle CPU cost of the control lcore with one backoff setting.
// A worker that only computes, on the core the control lcore shares, until told to stop.
struct BusyWorker {
    std::atomic<bool> stop{false};
    static int run(void *arg) {
        auto *w = static_cast<BusyWorker *>(arg);
        volatile uint64_t sink = 0;
        while (!w->stop.load(std::memory_order_relaxed)) sink = sink + 1;
        return 0;
    }
};

void control_wakeup(unsigned control_lcore, unsigned samples_n, const BackoffConfig &backoff,
                    bool show_hot, unsigned busy_lcore, int rt_priority) {
    ControlConfig cfg;
    cfg.backoff = backoff;
    cfg.realtime_priority = rt_priority;
    ControlLcore *ctl = ControlLcore::create("bench_ctl", cfg, SOCKET_ID_ANY);
    MessagePort *reply =
        MessagePort::create("bench_ctl_r", 64, MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
    ctl->launch(control_lcore);
    usleep(1000);
    printf(
        " backoff: spin %u polls, yield %u polls, sleep %u ns doubling to %u ns; "
        "SCHED_FIFO priority %d (%s)\n",
        backoff.spin_polls, backoff.yield_polls, backoff.sleep_ns, backoff.max_sleep_ns,
        rt_priority, ctl->sched_result() == 0 ? "ok" : strerror(-ctl->sched_result()));
    PortMessage m;
    std::vector<uint64_t> samples(samples_n);
    auto measure = [&](bool ring, bool cold) {
        for (unsigned i = 0; i < samples_n; ++i) {
            if (cold) usleep(3000 + (i % 7) * 300);  // asleep by now, at varying points
            prepare_call(&m, reply, noop, nullptr);
            uint64_t t0 = rte_rdtsc();
            if (ring) {
                ctl->send(&m);
            } else {
                send_msg(ctl->port(), &m);
            }
            wait_msg(&m, 1000000000);
            samples[i] = rte_rdtsc() - t0;
        }
        return summarize(samples);
    };
    if (show_hot) print("request round trip, control hot", measure(true, false));
    ControlStats s0 = ctl->stats();
    print("request round trip, asleep, ctl->send (bell)", measure(true, true));
    print("request round trip, asleep, no doorbell", measure(false, true));
    if (show_hot) {  // the deployment: a worker keeps the shared core busy
        BusyWorker busy;
        rte_eal_remote_launch(BusyWorker::run, &busy, busy_lcore);
        print("asleep, bell, core busy with a worker", measure(true, true));
        busy.stop = true;
        rte_eal_wait_lcore(busy_lcore);
    }
    ControlStats s1 = ctl->stats();
    printf("  %-44s %9.0f ns per sleep (%lu sleeps)\n", "control idle sleep, measured mean",
           s1.sleeps > s0.sleeps
               ? static_cast<double>(s1.slept_ns - s0.slept_ns) / (s1.sleeps - s0.sleeps)
               : 0.0,
           static_cast<unsigned long>(s1.sleeps - s0.sleeps));
    // What the idle loop takes from its core, whoever else runs there.
    long tid = 0;
    prepare_call(&m, reply, record_tid, &tid);
    do_msg(ctl->port(), &m, 1000000000);
    usleep(20000);
    uint64_t cpu0 = thread_cpu_ns(tid), wall0 = rte_rdtsc();
    ControlStats i0 = ctl->stats();
    usleep(1000000);
    uint64_t cpu1 = thread_cpu_ns(tid), wall1 = rte_rdtsc();
    ControlStats i1 = ctl->stats();
    double wall_ns = static_cast<double>(wall1 - wall0) * 1e9 / rte_get_tsc_hz();
    printf("  %-44s %9.1f us CPU per second (%.2f%% of a core), %.0f wake-ups/s\n",
           "idle control lcore", (cpu1 - cpu0) / 1e3 / (wall_ns / 1e9),
           (cpu1 - cpu0) / wall_ns * 100, (i1.sleeps - i0.sleeps) / (wall_ns / 1e9));
    ctl->stop();
    ControlLcore::destroy(ctl);
    MessagePort::destroy(reply);
}

// CPU time (ns) a thread of this process has run, from /proc (schedstat's first field).
uint64_t thread_cpu_ns(long tid) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/self/task/%ld/schedstat", tid);
    FILE *f = std::fopen(path, "r");
    unsigned long long ns = 0;
    if (f != nullptr) {
        if (std::fscanf(f, "%llu", &ns) != 1) ns = 0;
        std::fclose(f);
    }
    return ns;
}

int record_tid(void *ctx) {
    *static_cast<long *>(ctx) = syscall(SYS_gettid);
    return 0;
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    int consumed = rte_eal_init(argc, argv);
    if (consumed < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    argc -= consumed;
    argv += consumed;
    unsigned iters = 100000;
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--iters=", 8) == 0) iters = std::atoi(argv[i] + 8);
    }
    unsigned echo = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
    unsigned control = rte_get_next_lcore(echo, 1, 0);
    if (echo >= RTE_MAX_LCORE || control >= RTE_MAX_LCORE) {
        fprintf(stderr, "need three lcores, e.g. --lcores=0@0,1@1,2@1\n");
        rte_eal_cleanup();
        return 1;
    }
    printf(
        "bench_msgport: %u iterations, TSC %lu Hz, main lcore %u, echo lcore %u, control "
        "lcore %u\n",
        iters, static_cast<unsigned long>(rte_get_tsc_hz()), rte_get_main_lcore(), echo, control);
    printf("1-2. message port vs raw rte_ring (main -> lcore %u -> main)\n", echo);
    homa::dp::round_trip(echo, iters);
    printf("3. control lcore wake-up (main -> lcore %u)\n", control);
    const homa::dp::BackoffConfig defaults = homa::dp::ControlConfig{}.backoff;
    homa::dp::control_wakeup(control, 300, defaults, true, echo, 0);
    homa::dp::control_wakeup(control, 300, defaults, true, echo, 10);  // needs CAP_SYS_NICE
    homa::dp::control_wakeup(
        control, 300, {defaults.spin_polls, defaults.yield_polls, 50000, 50000}, false, echo, 0);
    homa::dp::control_wakeup(
        control, 300, {defaults.spin_polls, defaults.yield_polls, 100000, 100000}, false, echo, 0);
    rte_eal_cleanup();
    return 0;
}
