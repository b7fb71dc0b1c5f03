// The machine's stall floor: what a busy poller on each core loses to everything that is not
// itself. One thread per core spins on the monotonic clock, as a poll loop does, and records
// every gap between two readings longer than the threshold. A gap is time the thread did not
// run: another task on its core (the kernel's scheduler counts that in the thread's schedstat
// wait), or interrupts and the hypervisor (not counted anywhere in the guest but steal, which
// only some hypervisors report). No echo on this machine can have a tail below what these
// gaps leave, so the bench prints them beside its latency numbers.
//   bench_hiccup [seconds] [cpu,cpu,...] [threshold_us]   (defaults 5, every online cpu, 20)
// Prints one line per cpu: the gaps by size, their total as a share of the run, the worst, the
// schedstat wait and the steal ticks of the run; then `total` with the sums.
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// Gap sizes, upper edges in ns; the last bin takes the rest.
constexpr std::array<uint64_t, 7> kEdges = {50'000,    100'000,   500'000,   1'000'000,
                                            2'000'000, 5'000'000, 10'000'000};
constexpr const char *kNames[] = {"<50us", "50-100us", "0.1-0.5ms", "0.5-1ms",
                                  "1-2ms", "2-5ms",    "5-10ms",    ">10ms"};

struct CoreResult {
    int cpu = 0;
    bool pinned = false;
    std::array<uint64_t, kEdges.size() + 1> gaps{};
    uint64_t gap_ns = 0, worst_ns = 0, run_ns = 0;
    uint64_t sched_wait_ns = 0;  ///< schedstat: time runnable but not running
    long steal_ticks = 0;
};

uint64_t now_ns() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000ull + uint64_t(t.tv_nsec);
}

// Field 8 of the cpu's line in /proc/stat (steal, in clock ticks); -1 if not there.
long steal_ticks(int cpu) {
    std::ifstream in("/proc/stat");
    std::string want = "cpu" + std::to_string(cpu), line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string name;
        f >> name;
        if (name != want) continue;
        long v[8] = {};
        for (long &x : v) f >> x;
        return f ? v[7] : -1;
    }
    return -1;
}

uint64_t sched_wait_ns() {
    std::ifstream in("/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/schedstat");
    uint64_t run = 0, wait = 0;
    in >> run >> wait;
    return wait;
}

void spin(CoreResult *r, double seconds, uint64_t threshold_ns) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(r->cpu, &set);
    r->pinned = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
    const long steal0 = steal_ticks(r->cpu);
    const uint64_t wait0 = sched_wait_ns();
    const uint64_t start = now_ns(), end = start + uint64_t(seconds * 1e9);
    uint64_t last = start;
    for (;;) {
        const uint64_t t = now_ns();
        const uint64_t gap = t - last;
        last = t;
        if (gap > threshold_ns) {
            size_t b = 0;
            while (b < kEdges.size() && gap >= kEdges[b]) ++b;
            ++r->gaps[b];
            r->gap_ns += gap;
            if (gap > r->worst_ns) r->worst_ns = gap;
        }
        if (t >= end) break;
    }
    r->run_ns = last - start;
    r->sched_wait_ns = sched_wait_ns() - wait0;
    const long steal1 = steal_ticks(r->cpu);
    r->steal_ticks = steal0 < 0 || steal1 < 0 ? -1 : steal1 - steal0;
}

void print(const CoreResult &r, const char *name) {
    printf("%-6s", name);
    for (size_t b = 0; b < r.gaps.size(); ++b) printf(" %s %lu", kNames[b], r.gaps[b]);
    printf(" | gaps %.1f ms = %.2f %% of %.1f s, worst %.2f ms | schedstat wait %.1f ms",
           r.gap_ns / 1e6, r.run_ns ? 100.0 * double(r.gap_ns) / double(r.run_ns) : 0.0,
           r.run_ns / 1e9, r.worst_ns / 1e6, r.sched_wait_ns / 1e6);
    if (r.steal_ticks >= 0) printf(" | steal %ld ticks", r.steal_ticks);
    printf("\n");
}

}  // namespace

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    std::vector<int> cpus;
    if (argc > 2) {
        std::stringstream in(argv[2]);
        for (std::string c; std::getline(in, c, ',');) cpus.push_back(atoi(c.c_str()));
    } else {
        for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); ++c) cpus.push_back(int(c));
    }
    double threshold_us = argc > 3 ? atof(argv[3]) : 20;
    if (!(seconds > 0 && seconds <= 3600) || cpus.empty() || !(threshold_us > 0)) {
        fprintf(stderr,
                "usage: bench_hiccup [seconds (0..3600]] [cpu,cpu,...] [threshold_us > 0]\n");
        return 2;
    }
    std::vector<CoreResult> results(cpus.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < cpus.size(); ++i) {
        results[i].cpu = cpus[i];
        threads.emplace_back(spin, &results[i], seconds, uint64_t(threshold_us * 1000));
    }
    for (auto &t : threads) t.join();
    printf("hiccups: gaps longer than %.0f us seen by a thread spinning on each cpu for %.1f s\n",
           threshold_us, seconds);
    CoreResult total;
    int rc = 0;
    for (const auto &r : results) {
        if (!r.pinned) {
            fprintf(stderr, "bench_hiccup: cannot pin a thread to cpu %d\n", r.cpu);
            rc = 1;
        }
        print(r, ("cpu" + std::to_string(r.cpu)).c_str());
        for (size_t b = 0; b < r.gaps.size(); ++b) total.gaps[b] += r.gaps[b];
        total.gap_ns += r.gap_ns;
        total.run_ns += r.run_ns;
        total.worst_ns = std::max(total.worst_ns, r.worst_ns);
        total.sched_wait_ns += r.sched_wait_ns;
        total.steal_ticks =
            r.steal_ticks < 0 || total.steal_ticks < 0 ? -1 : total.steal_ticks + r.steal_ticks;
    }
    print(total, "total");
    return rc;
}
