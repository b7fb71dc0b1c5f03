/**
 * @file
 * The v2 socket: one move-only RAII type, for run-to-completion code (Host::open: the lcore
 * that polls the socket's worker calls it directly) and for application threads
 * (Host::open_app: any other thread, through the worker's message ports), with the same
 * calls, flags and errors; and one received-message type that knows how to answer itself.
 *
 * @code
 *   auto sock = host->open();                                    // a client port, worker 0
 *   auto id = sock->send(server, "hello");                       // Result<uint64_t>
 *   auto resp = sock->recv(homa::v2::kRecvResponse, *id);        // polls until it is there
 *   if (resp && resp->error() == 0) puts(resp->text().c_str());
 *   // a server: auto req = sock->recv(homa::v2::kRecvRequest); (void)req->reply(req->bytes());
 * @endcode
 *
 * Ownership: a Socket closes itself when destroyed (its RPCs end); it must be destroyed before
 * its Host. A Message owns its bpages (in the worker's pool) until it is released, replied to
 * with reply_self(), or destroyed; it must not outlive its Socket.
 * Threading: a socket from Host::open: every call on the lcore (thread) that polls its worker
 * (with Host::run, inside that worker's callback; with Host::poll, the polling thread). A
 * socket from Host::open_app: one application thread, never the one polling the worker (it
 * would wait for itself), while the worker is being polled. Its Messages likewise.
 * Errors: negative errnos (docs/api.md), per call; nothing is half-sent.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "homa/dataplane/remote_socket.h"
#include "homa/dataplane/socket.h"
#include "homa/v2/result.h"
#include "homa/v2/socket_address.h"

namespace homa::v2 {

/// recv() flags; the values of Linux Homa's HOMA_RECVMSG_REQUEST/RESPONSE/NONBLOCKING.
using homa::kRecvNonblocking;
using homa::kRecvRequest;
using homa::kRecvResponse;
/// recv() timeout meaning "as long as it takes".
inline constexpr uint64_t kWaitForever = ~uint64_t{0};
/// Largest message (Linux Homa's HOMA_MAX_MESSAGE_LENGTH).
using homa::wire::kMaxMessageLength;
/// Socket::send_zc's completion: `done(ctx, cookie)` on the socket's worker lcore once the
/// caller's memory may be reused.
using dp::SendDone;

class Socket;

/// One request of Socket::send_burst(): `msg` (copied) and its completion `cookie`.
using BurstRequest = dp::RemoteSocket::BurstRequest;

/** A received request or response. Move-only. */
class Message {
  public:
    Message() = default;
    Message(Message &&) noexcept = default;
    Message &operator=(Message &&) noexcept = default;

    uint64_t id() const noexcept { return m_.id(); }
    /** The completion cookie given to send() (responses only). */
    uint64_t cookie() const noexcept { return m_.cookie(); }
    /** Who sent it: a request's client, a response's server. */
    SocketAddress peer() const noexcept { return SocketAddress::from_engine(m_.peer()); }
    /** A request this host must answer (server side); else the response to one of our sends. */
    bool is_request() const noexcept { return (id() & 1) != 0; }
    /** 0, or the negative errno the RPC failed with (then it carries no data): -ETIMEDOUT
     *  (peer silent), -EIO, or what abort() was given. */
    int error() const noexcept;
    uint32_t length() const noexcept { return m_.length(); }
    /** Contiguous piece i (bytes [i * 64 KiB, ...)), in the pool: zero-copy reading. */
    std::span<const uint8_t> piece(uint32_t i) const noexcept { return m_.piece(i); }
    /** Copies up to out.size() bytes from `offset` on; returns the bytes copied. */
    size_t copy_to(std::span<uint8_t> out, uint32_t offset = 0) const noexcept {
        return m_.copy_to(out, offset);
    }
    std::vector<uint8_t> bytes() const;
    std::string text() const;

    /** Answers this request with `body` (copied). Returns 0, -EINVAL (not a request, or
     *  released), -ENOENT (the RPC is gone: aborted, or its client gave up), -EMSGSIZE,
     *  -ENOBUFS (no pool space or send slot: poll and retry). */
    [[nodiscard]] int reply(std::span<const uint8_t> body);
    [[nodiscard]] int reply(std::string_view body) {
        return reply(std::span(reinterpret_cast<const uint8_t *>(body.data()), body.size()));
    }
    /** Answers this request with its own bytes, zero-copy (an echo, or a body rewritten in
     *  place). Returns 0 (the bpages are the worker's now), -ENOBUFS (nothing changed: poll
     *  and retry), or reply()'s errors (bpages freed). */
    [[nodiscard]] int reply_self();
    /**
     * reply_self() that does not wait for the worker: an application thread's socket posts
     * the reply and goes on (one lcore round trip less per reply); what the worker refuses
     * later (-ENOENT: the RPC is gone; the bpages are the worker's then) is counted in
     * Socket::async_reply_errors(). On a run-to-completion socket the worker takes the reply
     * at once: it is reply_self(). Returns 0 (bpages handed over), -ENOBUFS (no command slot
     * or port room, or every send slot busy: nothing changed, retry, or call reply_self() to
     * wait), or reply()'s errors (bpages freed).
     */
    [[nodiscard]] int reply_self_async();
    /** Gives the bpages back now (idempotent). */
    void release() noexcept { m_.release(); }
    /** The v1 message (the same type from either kind of socket), for what v2 does not wrap. */
    dp::RecvMessage &raw() noexcept { return m_; }

  private:
    friend class Socket;
    dp::RecvMessage m_;
    // The owning Socket's state (one of the two, as the socket's kind); stable across moves.
    dp::Socket *sock_ = nullptr;
    dp::RemoteSocket *rsock_ = nullptr;
};

class Socket {
  public:
    Socket() = default;
    Socket(Socket &&) noexcept = default;
    Socket &operator=(Socket &&o) noexcept;
    ~Socket() { (void)close(); }

    bool is_open() const noexcept { return s_ != nullptr || r_ != nullptr; }
    /** Opened by Host::open_app (an application thread's socket). */
    bool is_app_thread_socket() const noexcept { return r_ != nullptr; }
    /** Sends a request (copied into the pool; msg may be reused at once). Returns the RPC's
     *  id, or -EINVAL (empty message, dst not IPv4 or port 0), -EMSGSIZE (> 1,000,000 bytes),
     *  -ENOBUFS (pool or send slots exhausted: poll and retry), -ENOMEM (RPC table full),
     *  -EBADF (closed). The response comes through recv() with this id and `cookie`. */
    Result<uint64_t> send(const SocketAddress &dst, std::span<const uint8_t> msg,
                          uint64_t cookie = 0);
    Result<uint64_t> send(const SocketAddress &dst, std::string_view msg, uint64_t cookie = 0) {
        return send(dst, std::span(reinterpret_cast<const uint8_t *>(msg.data()), msg.size()),
                    cookie);
    }
    /**
     * send() that does not wait for the RPC's id: an application thread's socket returns once
     * the request is in its request ring (no lcore round trip per request); a run-to-completion
     * socket sends at once, as send(). `msg` is copied (reusable at once). The response comes
     * through recv() with `cookie` (and the id); a send the worker refuses later arrives the same
     * way, as a response with error() set, id() 0 and `cookie`. Returns 0, or send()'s errors
     * (-ENOBUFS also when the request ring is full: nothing was sent). Allocates nothing.
     */
    [[nodiscard]] int send_async(const SocketAddress &dst, std::span<const uint8_t> msg,
                                 uint64_t cookie);
    [[nodiscard]] int send_async(const SocketAddress &dst, std::string_view msg, uint64_t cookie) {
        return send_async(dst, std::span(reinterpret_cast<const uint8_t *>(msg.data()), msg.size()),
                          cookie);
    }
    /**
     * send_async() of several requests to `dst` in one call. An application thread's socket
     * puts each into its request ring (up to 192 bytes inside the entry, longer ones copied
     * into the pool here); a run-to-completion socket sends them one after the other,
     * as send_async() does. Requests are taken in order, up to the first that cannot be.
     * Returns how many were taken (reqs.size(): all), or, when not even the first was, its
     * error, as send_async()'s: -EINVAL (empty message, dst not IPv4 or port 0), -EMSGSIZE,
     * -ENOBUFS (pool, request ring or send slots full: nothing of it sent,
     * retry), -ENOMEM (RPC table full), -EBADF (closed). After a short count, request k and
     * the later ones are untouched: calling again from k says why. The bytes may be reused
     * once this returns. Responses, and refusals the worker reports later, arrive through
     * recv() as for send_async() (error(), id() 0 and the cookie). Empty reqs: 0. Allocates
     * nothing. Threading: the socket's (see the file comment).
     */
    [[nodiscard]] int send_burst(const SocketAddress &dst, std::span<const BurstRequest> reqs);
    /**
     * Message::reply_self_async() of several requests received on this socket, each echoed
     * to its own client. An application thread's socket puts each reply into its request
     * ring (one entry naming the request's bpages, no copy); a run-to-completion socket
     * replies to each at once (reply_self). Taken in order up to the first that cannot be:
     * returns how many were answered (those Messages are consumed), or, when not even the
     * first was, its error, as reply_self_async()'s: -EINVAL (not a request of this socket,
     * or released: left as it was), -ENOBUFS (request ring or send slots full: it and
     * the later ones are unchanged, retry), or reply()'s errors (that one's bpages freed).
     * What the worker refuses later is counted in async_reply_errors(). Allocates nothing.
     */
    [[nodiscard]] int reply_self_burst(std::span<Message> requests);
    /**
     * Takes a complete message: `flags` kRecvRequest and/or kRecvResponse, plus
     * kRecvNonblocking; `id` 0 = any, else that response. Without kRecvNonblocking it polls
     * the worker until a message is there or `timeout_ns` passed. Returns the message (a
     * response may carry an RPC error: Message::error()), or -EAGAIN (non-blocking, none),
     * -ETIMEDOUT, -EINVAL (no kind in flags), -EBADF.
     */
    Result<Message> recv(uint32_t flags, uint64_t id = 0, uint64_t timeout_ns = kWaitForever);
    /**
     * recv() for poll loops: never waits (kRecvNonblocking is implied) and builds no Result, so
     * asking again and again costs a few loads. `flags` kRecvRequest and/or kRecvResponse;
     * `id` 0 = any, else that response. Returns 0 with the message in *out (whatever *out held
     * before is released, also when nothing is ready), -EAGAIN (none ready: poll the worker and ask
     * again), -EINVAL (no kind in flags, null out), -EBADF.
     */
    [[nodiscard]] int try_recv(uint32_t flags, Message *out, uint64_t id = 0);
    /**
     * A synchronous RPC: send(), then recv() of its response, polling the worker. Returns the
     * response, or send()'s errors, -ETIMEDOUT (no response in `timeout_ns`: the RPC is
     * aborted silently), or the RPC's own error (Message::error(): -ETIMEDOUT when the server
     * went silent, ...).
     */
    Result<Message> call(const SocketAddress &dst, std::span<const uint8_t> msg,
                         uint64_t timeout_ns = kWaitForever);
    Result<Message> call(const SocketAddress &dst, std::string_view msg,
                         uint64_t timeout_ns = kWaitForever) {
        return call(dst, std::span(reinterpret_cast<const uint8_t *>(msg.data()), msg.size()),
                    timeout_ns);
    }
    /**
     * Sends a request zero-copy from the caller's memory: `msg` must stay unchanged until
     * `done(ctx, cookie)` runs (on this socket's worker lcore, from a later poll; never when
     * send_zc fails). Memory outside DPDK (heap, stack) is copied into the frames instead of
     * attached, as a NIC could not read it; done still comes last. A run-to-completion socket
     * only (Host::open): an application thread's socket copies with send(). Returns the RPC's
     * id, or send()'s errors, and -EINVAL for an application thread's socket. A refusal for
     * now (-ENOBUFS, -ENOMEM) allocates nothing, so a load loop may retry it every turn.
     */
    Result<uint64_t> send_zc(const SocketAddress &dst, std::span<const uint8_t> msg,
                             uint64_t cookie, SendDone done, void *ctx);
    /** Answers request `id` from `peer` (copied): the Go bindings' Reply. Errors as
     *  Message::reply. */
    [[nodiscard]] int reply(const SocketAddress &peer, uint64_t id, std::span<const uint8_t> body);
    /**
     * Aborts client RPC `id` (0: all of them). With `error` not 0 each completes through
     * recv() with that error and no data; 0 ends them silently. `error` is a negative errno;
     * a positive one is taken as its negation (Linux's homa_abort takes it positive).
     * Returns 0, -ENOENT (no such RPC), -EINVAL, -EBADF.
     */
    [[nodiscard]] int abort(uint64_t id, int error = -ECANCELED);
    /** Closes the socket: every RPC it owns ends. 0, or -EBADF if not open; an application
     *  thread's socket also -ETIMEDOUT when the worker did not answer (then it is let go). */
    int close();
    /** This socket's address (the port the server listens on, or the client port chosen). */
    SocketAddress local_addr() const noexcept;
    /** Zero-copy sends (requests and replies) of this socket's worker whose memory is not back
     *  yet, of WorkerConfig::max_zero_copy_sends: a server may leave requests waiting while
     *  every slot is busy rather than have replies refused. Run-to-completion sockets; 0 for
     *  an application thread's socket (the count is the worker lcore's) or a closed one. */
    uint32_t worker_sends_in_flight() const noexcept;
    /** What the worker refused of reply_self_async()'s posted replies, so far. */
    struct AsyncReplyErrors {
        uint64_t count = 0;  ///< Refused replies.
        int last = 0;        ///< The last one's negative errno; 0 if none.
    };
    /** AsyncReplyErrors of an application thread's socket (its thread); a run-to-completion
     *  socket's are always none, its refusals are reply_self_async()'s return value. */
    AsyncReplyErrors async_reply_errors() const noexcept;
    /** The v1 socket of a Host::open socket, for what v2 does not wrap (region sends). */
    dp::Socket &raw() noexcept { return *s_; }
    /** The v1 socket of a Host::open_app socket (send_region, stats). */
    dp::RemoteSocket &raw_remote() noexcept { return *r_; }

  private:
    friend class Host;
    explicit Socket(std::unique_ptr<dp::Socket> s) : s_(std::move(s)) {}
    explicit Socket(std::unique_ptr<dp::RemoteSocket> r) : r_(std::move(r)) {}
    // One of the two is set while open; on the heap so that Messages can point at it.
    std::unique_ptr<dp::Socket> s_;
    std::unique_ptr<dp::RemoteSocket> r_;
};

}  // namespace homa::v2
