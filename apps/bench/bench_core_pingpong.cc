// How far apart two cores are, as an application thread and its worker see it: two threads,
// pinned to two cpus, pass one cache line back and forth. On this project's development VMs the
// hypervisor places the two vCPUs close together (about 0.1 us per round trip) or apart (about
// 0.5-0.6 us), and the placement holds for minutes. Every hand-off between an application
// thread and its worker moves at least one line, so the bench prints this beside the
// application-thread numbers.
//   bench_core_pingpong [round_trips] [cpu,cpu]   (defaults 1000000, the first two online cpus)
// Prints one line: "pingpong cpus A B round_trip_ns X one_way_ns Y". Exit 2 on bad arguments or
// fewer than two cpus.
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

// Each on its own line, so that what moves is exactly one line per hand-off.
struct alignas(64) Line {
    std::atomic<uint64_t> value{0};
};

bool pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

uint64_t now_ns() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace

int main(int argc, char **argv) {
    long rounds = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1'000'000;
    int cpus[2] = {-1, -1};
    if (argc > 2 && std::sscanf(argv[2], "%d,%d", &cpus[0], &cpus[1]) != 2) {
        std::fprintf(stderr, "bench_core_pingpong: cpus are given as A,B\n");
        return 2;
    }
    if (cpus[0] < 0) {
        cpu_set_t set;
        sched_getaffinity(0, sizeof(set), &set);
        for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; ++c) {
            if (CPU_ISSET(c, &set)) cpus[n++] = c;
        }
    }
    if (rounds <= 0 || cpus[0] < 0 || cpus[1] < 0 || cpus[0] == cpus[1]) {
        std::fprintf(stderr, "bench_core_pingpong: needs a positive count and two cpus\n");
        return 2;
    }
    Line ping, pong;
    bool pinned = true;
    std::thread other([&] {
        pinned = pin(cpus[1]) && pinned;
        for (uint64_t i = 1; i <= static_cast<uint64_t>(rounds); ++i) {
            while (ping.value.load(std::memory_order_acquire) != i) {}
            pong.value.store(i, std::memory_order_release);
        }
    });
    pinned = pin(cpus[0]) && pinned;
    const uint64_t start = now_ns();
    for (uint64_t i = 1; i <= static_cast<uint64_t>(rounds); ++i) {
        ping.value.store(i, std::memory_order_release);
        while (pong.value.load(std::memory_order_acquire) != i) {}
    }
    const double ns = static_cast<double>(now_ns() - start) / static_cast<double>(rounds);
    other.join();
    if (!pinned) {
        std::fprintf(stderr, "bench_core_pingpong: cannot pin to cpus %d and %d\n", cpus[0],
                     cpus[1]);
        return 2;
    }
    std::printf("pingpong cpus %d %d round_trip_ns %.1f one_way_ns %.1f\n", cpus[0], cpus[1], ns,
                ns / 2);
    return 0;
}
