/**
 * @file
 * The Homa socket API for run-to-completion applications: the application runs on the worker's
 * lcore and calls these between its own steps (no extra thread, no locks). Messages arrive in
 * bpages of the worker's pool; a RecvMessage (recv_message.h) owns them until released (or
 * destroyed).
 *
 * @code
 *   homa::dp::Socket srv;
 *   homa::dp::Socket::open(worker, 99, &srv);                   // server port 99
 *   while (running) {
 *       worker.poll();
 *       homa::dp::RecvMessage req;
 *       if (srv.recv(homa::kRecvRequest, 0, &req) == 0)
 *           srv.reply_with(std::move(req));                     // zero-copy echo
 *   }
 * @endcode
 *
 * Threading: every call only on the lcore that polls the socket's Worker. (Application threads
 * on other lcores use the message-port API instead.)
 * Errors: 0 or a negative errno, as documented per call; nothing is ever half-sent.
 */
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "homa/dataplane/recv_message.h"
#include "homa/dataplane/socket_service.h"
#include "homa/dataplane/worker.h"
#include "homa/proto/engine.h"

namespace homa::dp {

class SocketService;

class Socket {
  public:
    Socket() = default;
    /** Move-only: a copy would outlive close() and act on whichever socket reuses the id.
     *  The moved-from socket is closed (calls return -EBADF); nothing is closed by moving. */
    Socket(Socket &&o) noexcept
        : worker_(std::exchange(o.worker_, nullptr)),
          service_(std::exchange(o.service_, nullptr)),
          id_(o.id_) {}
    Socket &operator=(Socket &&o) noexcept {
        worker_ = std::exchange(o.worker_, nullptr);
        service_ = std::exchange(o.service_, nullptr);
        id_ = o.id_;
        return *this;
    }
    Socket(const Socket &) = delete;
    Socket &operator=(const Socket &) = delete;
    /** Opens a socket on `port` (< 0x8000) or 0 for a client port. Returns 0, -EADDRINUSE,
     *  -EINVAL, -EMFILE (see Engine::open_socket). */
    [[nodiscard]] static int open(Worker &worker, uint16_t port, Socket *out);

    /** Sends a request, copying `msg` (the caller may reuse msg at once): up to
     *  OutMessage::kCopyMax bytes into the engine's RPC, longer ones into pool bpages that
     *  frames then attach zero-copy. Returns 0 and the id, -EMSGSIZE (> 1,000,000
     *  bytes), -EINVAL (empty, bad dst), -ENOBUFS (pool or send slots exhausted), -EBADF,
     *  -ENOMEM (RPC table full). */
    [[nodiscard]] int send(Endpoint dst, std::span<const uint8_t> msg, uint64_t cookie,
                           uint64_t *id);
    /** Zero-copy request from caller memory: `data` must stay untouched until `done(ctx,
     *  cookie)` runs on this lcore. Memory outside DPDK (heap, stack) is copied into frames
     *  instead of attached, since a NIC could not DMA from it; done still comes last.
     *  Errors as send(); on error `done` is not called. */
    [[nodiscard]] int send_zc(Endpoint dst, const void *data, uint32_t length, uint64_t cookie,
                              uint64_t *id, SendDone done, void *ctx);
    /**
     * Request whose body is in memory outside the pool that may not be resident (a FilePager's
     * memory, an mmap'd file): see SocketService::send_region. Returns at once with the id;
     * the RPC starts when the body is in core (a pull on the control lcore meanwhile, while
     * this lcore keeps polling). `data` stays the caller's concern until `done(ctx, cookie)`
     * runs on this lcore. abort() and close() on this Socket also stop its pending pulls.
     * Errors as SocketService::send_region (-EBADF also for an unopened socket).
     */
    [[nodiscard]] int send_region(SocketService &service, Endpoint dst, const void *data,
                                  uint32_t length, uint64_t cookie, uint64_t *id, SendDone done,
                                  void *ctx);
    /**
     * Replies to request `request_id` from `dst` with `header` (copied) and then a body in
     * memory outside the pool that may not be resident (a FilePager's memory): see
     * SocketService::reply_region, whose errors it returns (-EBADF also for an unopened
     * socket). `done(ctx, cookie, result)` runs once on this lcore; on result.error < 0 the
     * RPC was not answered. abort(request_id, error) and close() also stop its pending pull.
     */
    [[nodiscard]] int reply_region(SocketService &service, Endpoint dst, uint64_t request_id,
                                   std::span<const uint8_t> header, const void *data,
                                   uint32_t length, uint64_t cookie, RegionReplyDone done,
                                   void *ctx);
    /** Takes a complete message (flags: kRecvRequest and/or kRecvResponse; id 0 = any).
     *  Returns 0, -EAGAIN (none ready: poll the worker and try again), -EINVAL, -EBADF. */
    [[nodiscard]] int recv(uint32_t flags, uint64_t id, RecvMessage *out);
    /** Polls the worker until recv succeeds or `timeout_ns` passes (-ETIMEDOUT). */
    [[nodiscard]] int recv_wait(uint32_t flags, uint64_t id, RecvMessage *out, uint64_t timeout_ns);
    /** Replies to request `id` from `dst`, copying msg. Errors as send() plus -ENOENT. */
    [[nodiscard]] int reply(Endpoint dst, uint64_t id, std::span<const uint8_t> msg);
    /** Replies with a received message's own bpages, zero-copy (an echo, or a message the
     *  application filled in place). Replies to `msg`'s RPC when `request_id` is 0. Returns 0
     *  (`msg` consumed: its bpages return to the pool when the reply is acknowledged, or at
     *  once for a reply of up to OutMessage::kCopyMax bytes, which the engine copies),
     *  -ENOBUFS (every send slot is busy: `msg` is left as it was, so the same reply can be
     *  retried after polling; dropping it instead leaves the RPC in service for good), or
     *  -EBADF, -EINVAL, -ENOENT, -EMSGSIZE (`msg` consumed, its bpages freed). */
    [[nodiscard]] int reply_with(RecvMessage &&msg, Endpoint dst = {}, uint64_t request_id = 0);
    /** Aborts client RPC `id` (0 = all); see Engine::abort. Region sends still waiting for
     *  their pull are aborted too (their pull is cancelled), and so is a region reply to
     *  request `id` still pulling. Returns 0 (also when only a region send or reply was
     *  aborted), -EBADF, -EINVAL, -ENOENT (id given, and neither an RPC nor a pending region
     *  send). */
    [[nodiscard]] int abort(uint64_t id, int error);
    /** Closes the socket; every RPC it owns ends and its resources return (pending region
     *  sends: when their aborted pull comes home). */
    int close();
    /** This socket's address. */
    Endpoint local_addr() const noexcept;
    Worker *worker() const noexcept { return worker_; }

  private:
    int send_pool(Endpoint dst, std::span<const uint8_t> msg, OutMessage *out);
    Worker *worker_ = nullptr;
    SocketService *service_ = nullptr;  ///< Set by send_region: whose pulls abort() stops.
    SocketId id_ = 0;
};

}  // namespace homa::dp
