// bench_timetrace: what one timetrace record costs on this machine, in ns, next to its parts
// (the clock read) and to the two cheap cases (tracing off: a null ring; frozen). Built, never
// run as a test: speed is measured, not asserted. Build with --buildtype=release for numbers.
//   build-release/apps/bench_timetrace [records per case, default 20000000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "homa/proto/timetrace.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double ns_per(uint64_t n, F &&body) {
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < n; ++i) body(i);
    auto t1 = Clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / double(n);
}

}  // namespace

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], nullptr, 10) : 20'000'000;
    if (n == 0) {
        fprintf(stderr, "usage: bench_timetrace [records per case > 0]\n");
        return 2;
    }
    // The rate only matters for dumps; the cost of a record does not depend on it.
    homa::TraceFreeze freeze(0);
    std::string err;
    auto ring = homa::Timetrace::create(1u << 16, freeze, &err);
    if (!ring) {
        fprintf(stderr, "bench_timetrace: %s\n", err.c_str());
        return 1;
    }
    homa::Timetrace *tt = ring.get();
    homa::Timetrace *off = nullptr;
    volatile uint64_t sink = 0;

    double clock = ns_per(n, [&](uint64_t) { sink = sink + homa::trace_clock(); });
    double record = ns_per(n, [&](uint64_t i) {
        HOMA_TT(tt, "rx DATA id %u offset %u length %u retx %u", static_cast<uint32_t>(i),
                static_cast<uint32_t>(i << 10), 1400u, 0u);
    });
    double null_ring = ns_per(n, [&](uint64_t i) {
        HOMA_TT(off, "rx DATA id %u offset %u length %u retx %u", static_cast<uint32_t>(i),
                static_cast<uint32_t>(i << 10), 1400u, 0u);
        sink = sink + i;  // keeps the loop from vanishing
    });
    freeze.freeze();
    double frozen = ns_per(n, [&](uint64_t i) {
        HOMA_TT(tt, "rx DATA id %u offset %u length %u retx %u", static_cast<uint32_t>(i),
                static_cast<uint32_t>(i << 10), 1400u, 0u);
    });
    printf("timetrace cost per record (%lu records per case, HOMA_TIMETRACE=%d, ring %u records)\n",
           static_cast<unsigned long>(n), HOMA_TIMETRACE, ring->capacity());
    printf("  trace_clock() alone      %6.2f ns\n", clock);
    printf("  record (HOMA_TT)         %6.2f ns\n", record);
    printf("  null ring (tracing off)  %6.2f ns  (loop overhead included)\n", null_ring);
    printf("  frozen ring              %6.2f ns\n", frozen);
    printf("  records kept %lu of %lu written\n",
           static_cast<unsigned long>(ring->snapshot().size()),
           static_cast<unsigned long>(ring->recorded()));
    return 0;
}
