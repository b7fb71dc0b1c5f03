// AsymmetricFence as a store-buffering litmus test: two threads each store their own flag and
// then load the other's, one with light() between, one with heavy(). Without a store-load
// barrier on both sides x86 lets both loads see 0 (each store still in its core's store
// buffer); with the fence pair that outcome must never appear. The run also counts the same
// litmus with no barrier at all and reports it (property "unfenced_both_zero"): that it is
// above 0 on an idle 2-core machine shows the harness can see the reordering at all; it is not
// asserted, because a loaded machine may never run the two threads at the same time.
#include "mem/asymmetric_fence.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <x86intrin.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace homa::mem {
namespace {

enum class Mode { kFenced, kUnfenced };

// Runs the calling thread on `cpu` (-1: leaves it alone).
void pin_to(int cpu) {
    if (cpu < 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}

// The n-th CPU in `allowed`, or -1: the two sides run on two different CPUs so that they run
// at the same time (left to the scheduler when only one is allowed).
int nth_cpu(const cpu_set_t &allowed, int n) {
    if (CPU_COUNT(&allowed) < 2) return -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &allowed) && n-- == 0) return cpu;
    }
    return -1;
}

// Both threads start a round at one TSC deadline, so that their stores and loads overlap, and
// each finds the line it loads in its own cache and the line it stores in the other's: a store
// then waits for its line while the load is served at once, which is when a missing barrier
// shows.
// Returns the rounds in which both loads saw 0.
uint64_t run_litmus(const AsymmetricFence &fence, Mode mode, uint32_t rounds) {
    // The two flags go through the __atomic builtins with a constant order: at -O0 (the debug
    // build the suite runs) std::atomic's relaxed store is a call that passes the order as a
    // variable, which GCC then treats as seq_cst, a full fence that would hide the reordering.
    alignas(64) uint32_t x = 0;
    alignas(64) uint32_t y = 0;
    alignas(64) std::atomic<uint64_t> start{0};  // deadline of the current round
    alignas(64) std::atomic<uint32_t> ready{0};  // rounds the rare side has finished
    alignas(64) std::atomic<uint32_t> seen_x{1};
    uint64_t both_zero = 0;
    cpu_set_t allowed;  // restored at the end: the next run must find both CPUs again
    pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed);
    std::thread rare([&] {
        pin_to(nth_cpu(allowed, 1));
        uint64_t last = 0;
        for (uint32_t i = 1; i <= rounds; ++i) {
            uint64_t t;
            while ((t = start.load(std::memory_order_acquire)) == last) {}
            last = t;
            while (__rdtsc() < t) {}
            __atomic_store_n(&y, 1u, __ATOMIC_RELAXED);
            if (mode == Mode::kFenced) {
                fence.heavy();
            } else {
                std::atomic_signal_fence(std::memory_order_seq_cst);
            }
            seen_x.store(__atomic_load_n(&x, __ATOMIC_RELAXED), std::memory_order_relaxed);
            __atomic_store_n(&x, 0u, __ATOMIC_RELAXED);  // x's line starts the next round here
            ready.store(i, std::memory_order_release);
        }
    });
    pin_to(nth_cpu(allowed, 0));
    for (uint32_t i = 1; i <= rounds; ++i) {
        __atomic_store_n(&y, 0u, __ATOMIC_RELAXED);  // y's line starts the round here
        const uint64_t t = __rdtsc() + 2000;
        start.store(t, std::memory_order_release);
        while (__rdtsc() < t) {}
        __atomic_store_n(&x, 1u, __ATOMIC_RELAXED);
        if (mode == Mode::kFenced) {
            fence.light();
        } else {
            std::atomic_signal_fence(std::memory_order_seq_cst);
        }
        const uint32_t seen_y = __atomic_load_n(&y, __ATOMIC_RELAXED);
        while (ready.load(std::memory_order_acquire) != i) {}
        if (seen_x.load(std::memory_order_relaxed) == 0 && seen_y == 0) ++both_zero;
    }
    rare.join();
    pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
    return both_zero;
}

TEST(AsymmetricFence, NeverLetsBothSidesMissTheOthersStore) {
    AsymmetricFence fence(false);
    uint64_t unfenced = run_litmus(fence, Mode::kUnfenced, 200'000);
    ::testing::Test::RecordProperty("unfenced_both_zero", std::to_string(unfenced));
    EXPECT_EQ(run_litmus(fence, Mode::kFenced, 20'000), 0u)
        << "membarrier: " << fence.uses_membarrier();
}

TEST(AsymmetricFence, FullFencesWhenAskedFor) {
    AsymmetricFence fence(true);
    EXPECT_FALSE(fence.uses_membarrier());
    EXPECT_EQ(run_litmus(fence, Mode::kFenced, 20'000), 0u);
}

}  // namespace
}  // namespace homa::mem
