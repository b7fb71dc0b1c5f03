// homa-perf's echo server: every request is answered with its own bytes. A reply that fails is
// never ignored: it is counted by cause, and unless the RPC is gone (-ENOENT: the client
// aborted or forgot it) it is retried on a later iteration, because a server RPC that never
// gets its reply stays in service forever (the client's RESENDs are answered BUSY).
//
// reply_self() consumes the request when it fails (but for -ENOBUFS, which is retried first), so
// a retry cannot reuse its bytes: it
// sends a copy of homa-perf's request pattern instead (homa-perf clients send nothing else,
// so the echo is still exact). To make that fallback rare, the run-to-completion server does
// not take a request while every send slot is busy (a reply needs one): the request waits in
// the engine, which is back-pressure, not loss.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error_counts.h"
#include "homa/homa.h"

namespace homa::perf {

struct ServerStats {
    uint64_t served = 0;       ///< Replies the engine took (first try or retried).
    uint64_t held_back = 0;    ///< Polls that left requests queued: every send slot busy.
    ErrorCounts reply_errors;  ///< Failed reply_self / reply calls, by cause.
    uint64_t retried = 0;      ///< Of the served, replies that succeeded on a retry.
    uint64_t gone = 0;         ///< Failures for RPCs that no longer existed (nothing stuck).
    uint64_t stranded = 0;     ///< Replies given up (retry queue full, or a hard error):
                               ///< those RPCs stay in service until the client gives up.
    uint64_t retry_queue_max = 0;

    /** One line: "served N; reply failures ...; retried ...". */
    std::string describe() const;
};

class EchoServer {
  public:
    /** `pattern`: homa-perf's request bytes (1,000,000 of them) for retried replies.
     *  `send_slots`: the worker's max_zero_copy_sends (0: unknown, no hold-back). */
    EchoServer(const uint8_t *pattern, uint32_t send_slots, uint32_t retry_capacity = 65536);

    /** Answers every ready request on `s`: a run-to-completion socket (this lcore polls its
     *  worker) or an application thread's (replies posted, not waited for). Returns the
     *  requests taken. */
    uint32_t serve(v2::Socket &s);
    const ServerStats &stats() const noexcept { return stats_; }

  private:
    struct PendingReply {
        v2::SocketAddress peer;
        uint64_t id = 0;
        uint32_t length = 0;
    };
    uint32_t retry(v2::Socket &s);
    void failed(int rc, const v2::SocketAddress &peer, uint64_t id, uint32_t length);
    /** Echoes one request with reply_self; a refusal goes to failed(). */
    void answer(v2::Message &&req);
    /** Application thread: takes up to kBurst ready requests and posts their echoes with one
     *  reply_self_burst (one command-port enqueue for the lot, none waiting for the worker
     *  lcore: a round trip per reply was the app-thread server's largest cost); falls back
     *  to the waiting reply_self when no slot or port room is left. Returns requests taken. */
    uint32_t serve_burst(v2::Socket &s);
    /** Counts what the worker refused of the posted replies since the last call. */
    void collect_async_errors(const v2::Socket &s);

    const uint8_t *pattern_;
    uint32_t send_slots_;
    uint64_t async_errors_seen_ = 0;
    std::vector<PendingReply> ring_;  ///< Fixed capacity, allocated once.
    size_t head_ = 0, size_ = 0;
    ServerStats stats_;
    static constexpr unsigned kBurst = 32;  ///< A command-port burst (kMessagePortBurst).
    /** Application thread: requests taken and not yet answered; reused (a fresh Message per
     *  poll zeroed 144 bytes with rep stos). */
    v2::Message burst_[kBurst];
    bool busy_ = false;  ///< The last serve_burst took more than one request.
};

}  // namespace homa::perf
