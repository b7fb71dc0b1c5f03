/**
 * @file
 * The worker side of the socket API for everything that is not the worker's own lcore:
 *   - application threads (RemoteSocket, remote_socket.h) send typed commands to the service's
 *     command port; the worker drains it in bursts inside poll() (Worker::attach_command_port),
 *     answers each command on the application's reply port, and writes messages into each
 *     socket's answer ring as soon as they are ready. It never calls application code.
 *   - region sends (send_region): a request whose body lives outside the bpage pool (a
 *     FilePager's memory, an mmap'd file) is checked with the residency chain; a body that is
 *     not resident is pulled by the control lcore while the worker keeps polling, and the RPC
 *     starts only when the control lcore says the body is in core (frames then attach or copy
 *     it). The pull's reply comes back on the same command port.
 *   - region replies (reply_region): the same for a server's response (a file server's
 *     bytes), with a short header in front that the service keeps.
 *
 * @code
 *   // set-up, before the worker's lcore starts polling
 *   homa::dp::SocketServiceConfig sc;
 *   sc.name = "w0-cmd"; sc.control = ctl; sc.residency = &chain;
 *   std::string err;
 *   auto svc = homa::dp::SocketService::create(*worker, sc, &err);
 *   // worker lcore: worker->poll() now serves the service too
 *   uint64_t id;
 *   sock.send_region(*svc, {server_ip, 99}, file->data(), len, cookie, &id, done, ctx);
 * @endcode
 *
 * Ownership: the service borrows the Worker, the ControlLcore and the ResidencyChain; they must
 * outlive it. It owns its command port and every table (allocated once, at create).
 * Threading: create, destroy and the send_region/abort_regions/close_regions calls on the
 * worker's lcore only (before it polls, for create); port() and pool() from any thread.
 * Errors: negative errnos, per call.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "homa/dataplane/worker.h"
#include "homa/proto/engine.h"

namespace homa::mem {
class BpagePool;
class ResidencyChain;
}  // namespace homa::mem

namespace homa::dp {

class ControlLcore;
class MessagePort;

/** How a region reply ended; handed to its RegionReplyDone. */
struct RegionReplyResult {
    /** 0: the reply was sent and its memory is released. Negative: it was not sent (pull
     *  failed or refused: -EIO; aborted: the abort's error or -ECANCELED; could not start:
     *  -ENOBUFS, -ENOENT, ...); the server RPC, if it still exists, waits for a reply. */
    int error = 0;
    bool pulled = false;   ///< The body waited for a control-lcore pull.
    uint64_t pull_ns = 0;  ///< From reply_region until the pull came home (0 without one).
};

/** Runs once per accepted reply_region, on the worker's lcore. */
using RegionReplyDone = void (*)(void *ctx, uint64_t cookie, const RegionReplyResult &result);

struct SocketServiceConfig {
    const char *name = "homa-cmd";  ///< Names the command port: unique in the process.
    unsigned port_capacity = 1024;  ///< Commands waiting at once (senders get -ENOBUFS beyond).
    unsigned max_sockets = 16;      ///< Remote sockets open at once.
    /** Region sends waiting for their pull at once, plus region replies pulling or sending. */
    unsigned max_region_sends = 64;
    ControlLcore *control = nullptr;  ///< Pulls non-resident bodies; nullptr: no region sends.
    const mem::ResidencyChain *residency = nullptr;  ///< in_core() of region bodies.
};

/** Counters, kept by the worker's lcore (plain integers: read them there, or once it has
 *  stopped polling). */
struct SocketServiceStats {
    uint64_t commands = 0;           ///< Remote commands served.
    uint64_t receives_answered = 0;  ///< Messages written into answer rings.
    uint64_t requests_taken = 0;     ///< Sends and replies taken from request rings.
    uint64_t requests_refused = 0;   ///< ... of which refused (answered with the error).
    /// Refusals that still found the answer ring full when the socket closed.
    uint64_t refusals_lost_at_close = 0;
    uint64_t region_sends = 0;         ///< send_region calls accepted.
    uint64_t region_resident = 0;      ///< ... whose body was resident at once (no pull).
    uint64_t region_pulls = 0;         ///< ... that waited for a control-lcore pull.
    uint64_t region_started = 0;       ///< RPCs started after their pull.
    uint64_t region_failed = 0;        ///< Pull or start failed: the RPC completed with an error.
    uint64_t region_aborted = 0;       ///< Aborted (or their socket closed) while pulling.
    uint64_t polls_while_pulling = 0;  ///< poll() iterations that found a pull outstanding.
    uint64_t region_replies = 0;       ///< reply_region calls accepted (also in the counts above:
                                       ///< resident, pulls, started, failed, aborted).
    uint64_t region_replies_sent = 0;  ///< ... whose send completed (done with error 0).
};

class SocketService {
  public:
    /**
     * Creates the service and attaches its command port to `worker`
     * (Worker::attach_command_port). Worker's lcore (or any thread before it polls).
     * Returns nullptr with `error` set: bad sizes (0), control without residency, the port
     * cannot be created (name in use, memory), or the worker already has a command port.
     */
    static std::unique_ptr<SocketService> create(Worker &worker, const SocketServiceConfig &cfg,
                                                 std::string *error);
    /**
     * Detaches from the worker. Remote sockets still open are closed (nothing more is written
     * into their answer rings; what is there stays the application's), pulls still running are
     * aborted and waited for (their `done` runs). Region replies still sending are waited for by
     * polling the worker (their `done` runs). Commands still queued are answered -ESHUTDOWN.
     * Worker's lcore, not while it polls.
     */
    ~SocketService();
    SocketService(const SocketService &) = delete;
    SocketService &operator=(const SocketService &) = delete;

    /** Where remote sockets send their commands (multi-producer). Any thread. */
    MessagePort &port() noexcept;
    /** The worker's bpage pool (remote sockets copy sends into it). Any thread. */
    mem::BpagePool &pool() noexcept;
    Worker &worker() noexcept;

    /**
     * Sends a request whose body is [data, data + length) in memory outside the pool, once the
     * body is resident. Returns at once with the RPC's id in `*id`; the RPC starts now if the
     * residency chain says the body is in core, else when the control lcore's pull answers.
     * The memory must stay valid and unchanged until `done(ctx, cookie)` runs on this lcore
     * (after the RPC released it, or after the pull was aborted or failed). A pull that fails
     * or an RPC that cannot start completes the RPC with that error (recv() hands it out).
     * Worker's lcore only. Returns 0, -EBADF (socket not open), -EINVAL (null data, length 0,
     * dst port 0), -EMSGSIZE, -EOPNOTSUPP (no control lcore), -ENOBUFS (max_region_sends
     * pulls pending, the control lcore's port full, or no send slot), -ENOMEM (RPC table).
     * On error nothing was started and `done` will not run.
     */
    int send_region(SocketId sock, Endpoint dst, const void *data, uint32_t length, uint64_t cookie,
                    uint64_t *id, SendDone done, void *ctx);
    /**
     * Replies to request `request_id` (from `dst`) with `header` (at most kRegionHeaderMax
     * bytes, copied: any memory) followed by [data, data + length) in memory outside the
     * pool that may not be resident, as send_region does for requests: the reply starts now
     * if the residency chain says the body is in core, else when the control lcore's pull
     * answers, while this lcore keeps polling. The body must stay valid and unchanged until
     * `done` runs. `done(ctx, cookie, result)` runs exactly once on this lcore: after the
     * reply's send completed (error 0), or when it could not be sent (error < 0: the
     * application may answer the RPC otherwise, e.g. with an error response). A slot of
     * max_region_sends is held from the call until `done`.
     * Worker's lcore only. Returns 0, -EBADF (socket not open), -EINVAL (null data or done,
     * length 0, dst port 0, header too long), -EMSGSIZE (header + length too long),
     * -EOPNOTSUPP (no control lcore), -ENOBUFS (no free slot, the control lcore's port full,
     * or no send slot), or the engine's send_reply error (-ENOENT: no such RPC waiting).
     * On error nothing was started and `done` will not run.
     */
    int reply_region(SocketId sock, Endpoint dst, uint64_t request_id,
                     std::span<const uint8_t> header, const void *data, uint32_t length,
                     uint64_t cookie, RegionReplyDone done, void *ctx);
    static constexpr uint32_t kRegionHeaderMax = 32;

    /**
     * Aborts region sends of `sock` still waiting for their pull: RPC `id` or, with id 0, all.
     * Region replies waiting for their pull are aborted the same way (`id`: the request's);
     * their `done` gets the error (or -ECANCELED for 0). Replies already sending are not.
     * The pull is aborted (ControlLcore::abort); when it comes home its `done` runs and, if
     * `error` is not 0, the RPC completes with `error`. Worker's lcore only. Returns how many
     * were aborted (0 if none matched).
     */
    int abort_regions(SocketId sock, uint64_t id, int error);
    /** Outstanding region sends (pulls not yet home). Any thread (a snapshot). */
    uint32_t regions_pending() const noexcept;
    /** Remote sockets open. Worker's lcore (or once it stopped polling). */
    uint32_t remote_sockets_open() const noexcept;
    /** A copy of the counters. Worker's lcore (or once it stopped polling). */
    SocketServiceStats stats() const noexcept;

    struct Impl;

  private:
    explicit SocketService(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace homa::dp
