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

/** A response the load loop has taken: whose (cookie), how it ended, and its bytes' check. */
struct Completed {
    uint64_t cookie = 0;
    int error = 0;
    uint32_t length = 0;
    bool payload_ok = true;  ///< The bytes are the request pattern (checked only when verifying).
};

/**
 * The application side of a phase: how requests leave, responses come back and the rest of
 * the host makes progress. Run-to-completion (LocalDriver: sockets on the worker's own lcore)
 * and application threads (RemoteDriver in remote_load.h: message ports to a worker on another
 * lcore) measure through the same loop. Calls come from the loop's thread only.
 */
class LoadDriver {
public:
    virtual ~LoadDriver() = default;
    /** Lets the host progress (poll the worker, serve echo); true if anything happened. */
    virtual bool poll() = 0;
    /** Sends a request of `length` pattern bytes; 0 or a negative errno (retried later). */
    virtual int send(uint32_t length, uint64_t cookie) = 0;
    /** Takes one response if one is ready (checking its bytes when `verify`). */
    virtual bool next_response(Completed *out, bool verify) = 0;
};

/** Run-to-completion: the client (and maybe the server) sockets live on worker lcores that this
 *  thread polls itself. A server on another worker of this process (two dataplanes over a
 *  net_ring pair) has that worker polled here too. */
class LocalDriver final : public LoadDriver {
public:
    LocalDriver(dp::Worker &worker, dp::Socket &client, dp::Socket *server, Endpoint server_addr,
                const uint8_t *pattern)
        : worker_(worker), client_(client), server_(server), addr_(server_addr),
          pattern_(pattern) {}
    bool poll() override;
    int send(uint32_t length, uint64_t cookie) override;
    bool next_response(Completed *out, bool verify) override;

private:
    dp::Worker &worker_;
    dp::Socket &client_;
    dp::Socket *server_;
    Endpoint addr_;
    const uint8_t *pattern_;
};

/** Runs a phase through `driver`. `quit` ends it early. */
PhaseResult run_phase(LoadDriver &driver, const PhaseSpec &spec, const std::atomic<bool> &quit);

/** True if a received message holds `length` bytes of the request pattern (any message type
 *  with length() and piece(i), pieces being 64 KiB apart in the message). */
template <typename Msg>
bool payload_matches(const Msg &m, uint32_t length);

/** Serves echo until `quit` or `seconds` (0 = until quit). Returns requests served. */
uint64_t serve_only(dp::Worker &worker, dp::Socket &server, double seconds,
                    const std::atomic<bool> &quit);

/** The pattern byte at message offset i (payload verification is by position). */
inline uint8_t pattern_at(uint32_t i) { return static_cast<uint8_t>(i * 7 + (i >> 8) + 1); }

template <typename Msg>
bool payload_matches(const Msg &m, uint32_t length) {
    if (m.length() != length) return false;
    for (uint32_t p = 0, base = 0; base < length; ++p, base += 65536) {
        auto piece = m.piece(p);
        if (piece.empty()) return false;
        for (uint32_t i = 0; i < piece.size(); ++i) {
            if (piece[i] != pattern_at(base + i)) return false;
        }
    }
    return true;
}

}  // namespace homa::perf
