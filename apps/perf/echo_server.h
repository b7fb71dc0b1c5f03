// homa-perf's echo server: every request is answered with its own bytes. A reply that fails is
// never ignored: it is counted by cause, and unless the RPC is gone (-ENOENT: the client
// aborted or forgot it) it is retried on a later iteration, because a server RPC that never
// gets its reply stays in service forever (the client's RESENDs are answered BUSY).
//
// reply_with() consumes the request even when it fails, so a retry cannot reuse its bytes: it
// sends a copy of homa-perf's request pattern instead (homa-perf clients send nothing else,
// so the echo is still exact). To make that fallback rare, the run-to-completion server does
// not take a request while every send slot is busy (a reply needs one): the request waits in
// the engine, which is back-pressure, not loss.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error_counts.h"
#include "homa/dataplane/remote_socket.h"
#include "homa/dataplane/socket.h"

namespace homa::perf {

struct ServerStats {
    uint64_t served = 0;       ///< Replies the engine took (first try or retried).
    uint64_t held_back = 0;    ///< Polls that left requests queued: every send slot busy.
    ErrorCounts reply_errors;  ///< Failed reply_with / reply calls, by cause.
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

    /** Run-to-completion: answers every ready request on `s` (whose worker this lcore polls).
     *  Returns the requests taken. */
    uint32_t serve(dp::Socket &s);
    /** Application thread: the same through a RemoteSocket. */
    uint32_t serve(dp::RemoteSocket &s);
    const ServerStats &stats() const noexcept { return stats_; }

  private:
    struct PendingReply {
        Endpoint peer;
        uint64_t id = 0;
        uint32_t length = 0;
    };
    template <typename Sock>
    uint32_t retry(Sock &s);
    void failed(int rc, Endpoint peer, uint64_t id, uint32_t length);
    /** Echoes one request with reply_with (either socket flavour); a refusal goes to failed(). */
    template <typename Sock, typename Msg>
    void answer(Sock &s, Msg &&req) {
        Endpoint peer = req.peer();
        uint64_t id = req.id();
        uint32_t length = req.length();
        int rc = s.reply_with(std::move(req));
        if (rc == 0) {
            ++stats_.served;
        } else {
            failed(rc, peer, id, length);
        }
    }

    /** Application thread: posts the reply without waiting for the worker lcore (one lcore
     *  round trip per reply was the app-thread server's largest cost); falls back to the
     *  waiting reply_with when no slot or port room is left. */
    void answer(dp::RemoteSocket &s, dp::RecvMessage &&req);
    /** Counts what the worker refused of the posted replies since the last call. */
    void collect_async_errors(const dp::RemoteSocket &s);

    const uint8_t *pattern_;
    uint32_t send_slots_;
    uint64_t async_errors_seen_ = 0;
    std::vector<PendingReply> ring_;  ///< Fixed capacity, allocated once.
    size_t head_ = 0, size_ = 0;
    ServerStats stats_;
};

}  // namespace homa::perf
