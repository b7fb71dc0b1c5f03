// Private state of a SocketService, shared by socket_service.cc (set-up, the command handler,
// remote socket commands) and region_send.cc (sends whose body is pulled by the control lcore).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "handoff_ring.h"
#include "homa/dataplane/port_message.h"
#include "homa/dataplane/socket_service.h"

namespace homa::dp {

inline constexpr uint32_t kNoRegion = UINT32_MAX;

/** A region send waiting for its pull (a request), or a region reply from its call until its
 *  send completes. The pull message replies to the command port. */
struct RegionSend {
    PortMessage pull;                    ///< kControlPull to the control lcore.
    SocketService::Impl *svc = nullptr;  ///< Owner (for the reply's send completion).
    SocketId sock = 0;
    Endpoint dst;
    const uint8_t *data = nullptr;
    uint32_t length = 0;
    uint64_t cookie = 0;
    uint64_t id = 0;  ///< Reserved with Engine::reserve_client_id().
    SendDone done = nullptr;
    void *ctx = nullptr;
    int abort_error = 0;
    bool aborted = false;  ///< abort_regions() asked; honoured when the pull comes home.
    bool in_use = false;
    bool pulling = false;  ///< The pull message is away (counted in regions_pending).
    uint32_t next_free = kNoRegion;
    // Region replies only:
    bool reply = false;
    bool sending = false;  ///< Started: the slot waits for the send to complete.
    RegionReplyDone reply_done = nullptr;
    uint64_t start_ns = 0;  ///< Worker time of reply_region.
    RegionReplyResult result;
    uint32_t header_len = 0;
    uint8_t header[SocketService::kRegionHeaderMax];
};

/** One remote socket: the engine socket and its two rings (handoff_ring.h), which are the
 *  application's and used until the close is answered. */
struct RemoteSock {
    bool open = false;
    SocketId sid = 0;
    Producer<Answer> answers;    ///< Received messages and late errors, to the application.
    Consumer<Request> requests;  ///< Sends and replies queued by the application.
    /// A refusal that found the answer ring full: no further request is taken until it is
    /// written, so one is all that can wait.
    bool refusal_waiting = false;
    Answer::Kind refusal_kind = Answer::kSendFailed;
    int32_t refusal_error = 0;
    uint64_t refusal_cookie_or_id = 0;
};

struct SocketService::Impl {
    Worker *worker = nullptr;
    mem::BpagePool *pool = nullptr;  ///< The worker's, kept for other threads to read.
    SocketServiceConfig cfg;
    MessagePort *port = nullptr;
    std::vector<RemoteSock> socks;
    uint32_t socks_open = 0;
    /** One past the highest handle ever opened: deliver() looks no further (a worker polls
     *  millions of times a second, mostly with few of max_sockets in use). */
    uint32_t socks_end = 0;
    std::unique_ptr<RegionSend[]> regions;
    uint32_t free_region = kNoRegion;
    std::atomic<uint32_t> regions_pending{0};
    SocketServiceStats stats;
    Timetrace *tt = nullptr;  ///< The worker's ring (HOMA_TT); nullptr: off.
    /// deliver()'s messages taken from the engine before their answers are written. Kept here
    /// so that no poll pays for constructing (zeroing) them.
    static constexpr uint32_t kDeliverBatch = 16;
    homa::Message deliver_batch[kDeliverBatch];

    bool owns_region(const PortMessage *m) const noexcept {
        const auto *p = reinterpret_cast<const uint8_t *>(m);
        const auto *lo = reinterpret_cast<const uint8_t *>(regions.get());
        return p >= lo && p < lo + sizeof(RegionSend) * cfg.max_region_sends;
    }
};

// region_send.cc
/** The control lcore answered the pull of the region send owning `pull`. */
void region_pull_done(SocketService::Impl &s, PortMessage *pull);
/** SocketService::send_region. */
int send_region(SocketService::Impl &s, SocketId sock, Endpoint dst, const void *data,
                uint32_t length, uint64_t cookie, uint64_t *id, SendDone done, void *ctx);
/** SocketService::reply_region. */
int reply_region(SocketService::Impl &s, SocketId sock, Endpoint dst, uint64_t request_id,
                 std::span<const uint8_t> header, const void *data, uint32_t length,
                 uint64_t cookie, RegionReplyDone done, void *ctx);
/** Region replies started and not yet completed (the destructor waits for them). */
uint32_t replies_sending(const SocketService::Impl &s);
/** SocketService::abort_regions. */
int abort_regions(SocketService::Impl &s, SocketId sock, uint64_t id, int error);

}  // namespace homa::dp
