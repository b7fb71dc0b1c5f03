// One measured phase of homa-perf: an echo load (closed loop with N outstanding RPCs, or open
// loop with Poisson arrivals) run to completion on the worker lcore, with the server's echo on
// the same loop when both roles live in this process.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "homa/dataplane/socket.h"
#include "latency_histogram.h"
#include "workload.h"

namespace homa::perf {

/** Size buckets for per-size statistics: upper bounds in bytes. */
inline constexpr uint32_t kBucketBounds[] = {100, 1'000, 10'000, 100'000, 1'000'000};
inline constexpr size_t kNumBuckets = sizeof(kBucketBounds) / sizeof(kBucketBounds[0]);
size_t bucket_of(uint32_t length);

struct PhaseSpec {
    std::string name;
    Workload workload;
    uint32_t outstanding = 1;   ///< Closed loop: RPCs kept in flight. Open loop: in-flight cap.
    double rate_rps = 0;        ///< > 0: open loop, Poisson arrivals at this mean rate.
    double seconds = 1;
    bool verify = false;
    bool progress = false;      ///< A progress line to stderr every second.
    uint64_t seed = 1;
    /** Unloaded RTT per bucket (ns) for slowdown; 0 = unknown (no slowdown reported). */
    uint64_t unloaded_ns[kNumBuckets] = {};
};

struct BucketResult {
    LatencyHistogram rtt;
    LatencyHistogram slowdown_x100;  ///< RTT / unloaded RTT, times 100.
};

struct PhaseResult {
    std::string name;
    std::string workload;
    uint32_t outstanding = 0;
    double rate_rps = 0;
    uint64_t rpcs = 0;
    uint64_t errors = 0;            ///< Send failures or responses with an error.
    uint64_t verify_failures = 0;
    uint64_t verified = 0;
    uint64_t overload_skips = 0;    ///< Open loop: arrivals skipped at the in-flight cap.
    uint64_t payload_bytes = 0;     ///< Request + response payload bytes of completed RPCs.
    double elapsed_s = 0;
    uint64_t total_cycles = 0;      ///< TSC cycles the lcore spent in the phase.
    uint64_t busy_cycles = 0;       ///< ... in loop iterations that did work.
    LatencyHistogram rtt;
    BucketResult buckets[kNumBuckets];
};

/**
 * Runs a phase. `client` sends to `server_addr`; `server` (may be nullptr when the server is
 * another process) echoes every request with its own bpages. `quit` ends the phase early.
 * Worker lcore only.
 */
PhaseResult run_phase(dp::Worker &worker, dp::Socket &client, dp::Socket *server,
                      Endpoint server_addr, const PhaseSpec &spec, const uint8_t *pattern,
                      const std::atomic<bool> &quit);

/** Serves echo until `quit` or `seconds` (0 = until quit). Returns requests served. */
uint64_t serve_only(dp::Worker &worker, dp::Socket &server, double seconds,
                    const std::atomic<bool> &quit);

/** The pattern byte at message offset i (payload verification is by position). */
inline uint8_t pattern_at(uint32_t i) { return static_cast<uint8_t>(i * 7 + (i >> 8) + 1); }

}  // namespace homa::perf
