/**
 * @file
 * The Homa socket API for application threads: a thread that is not the worker's lcore (another
 * EAL lcore, or a registered non-EAL thread) opens a RemoteSocket on a worker's SocketService
 * (socket_service.h). Every call is a typed command message to the service's command port,
 * which the worker drains inside its poll loop; answers come back on the socket's own reply
 * port. Received messages are pushed as they become ready: the worker writes each into the
 * socket's answer ring (one cache line for a message of one bpage), which the socket handed it
 * at open and which it reads without any further command.
 * (Run-to-completion applications on the worker's lcore use Socket, socket.h: no messages.)
 *
 * @code
 *   homa::dp::RemoteSocketConfig rc;
 *   rc.pool_cache = 1;                                   // this thread's cache in the pool
 *   std::unique_ptr<homa::dp::RemoteSocket> sock;
 *   if (homa::dp::RemoteSocket::open(svc, 0, rc, &sock) < 0) ...;
 *   uint64_t id;
 *   sock->send({server_ip, 99}, request, 7, &id);        // waits for the worker: id known
 *   sock->send({server_ip, 99}, request, 8, nullptr);    // does not wait (errors come by recv)
 *   homa::dp::RecvMessage resp;
 *   if (sock->recv_wait(homa::kRecvResponse, id, &resp, 1'000'000'000) == 0) use(resp);
 *   sock->close();
 * @endcode
 *
 * Ownership: copies of messages go into the worker's bpage pool through `pool_cache`, a cache
 * of that pool reserved for this thread (PoolConfig::num_caches must cover it); a
 * RecvMessage owns its bpages until released. A RemoteSocket owns its reply port and its
 * command slots; memory the worker still holds when the socket is destroyed is leaked, never
 * freed under it (only if the worker stopped answering).
 * Threading: one thread per RemoteSocket (the owner of its reply port), never the lcore that
 * polls the worker (that lcore would wait for itself): use Socket there.
 * Errors: 0 or a negative errno; -ENOBUFS whenever a port, the pool or the socket's slots are
 * full (backpressure: nothing was sent, try again later), never a silent drop.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "homa/dataplane/recv_message.h"
#include "homa/dataplane/worker.h"
#include "homa/proto/engine.h"

namespace homa::mem {
class BpagePool;
}

namespace homa::dp {

class MessagePort;
class SocketService;
struct Request;

/// recv() flag: do not wait; -EAGAIN if no matching message is ready (defined with the
/// other flags in proto/engine.h).
using homa::kRecvNonblocking;

struct RemoteSocketConfig {
    unsigned pool_cache = 1;  ///< This thread's cache in the worker's pool.
    /// Received messages this side holds for recv(); the worker's answer ring has as many
    /// entries (rounded up to a power of two, at most 4096), so up to twice as many can be
    /// ready before further ones wait in the worker's engine. A ring shorter than the RPCs a
    /// thread keeps in flight is often full: the worker then re-reads the application's
    /// position (a line from the other core) and answers in small pieces. 16 held a 100 B echo
    /// at 32 outstanding to 2.06 M RPC/s, 64 gave 2.29 M (docs/perf.md, twenty-sixth session).
    unsigned recv_credits = 64;
    /// Sends without id and replies queued for the worker at once: the size of the socket's
    /// request ring (rounded up to a power of two, at most 4096).
    unsigned max_async = 64;
    uint64_t op_timeout_ns = 1'000'000'000;  ///< How long a command waits for the worker.
    /// Where this socket records its side of each hand-off (commands sent, answers taken),
    /// or nullptr. Borrowed: it must outlive the socket and take records from this thread
    /// only (dp::Host::app_timetrace gives each application thread its own ring).
    Timetrace *trace = nullptr;
};

class RemoteSocket {
  public:
    /**
     * Opens a socket on `port` (< 0x8000; 0: a client port) at the worker behind `service`,
     * handing it the socket's request and answer rings. Set-up (allocates the reply port,
     * the rings and the slots). Returns 0, -EINVAL (bad config: recv_credits or max_async 0 or
     * above 4096, a pool cache the pool lacks; null out), -ENOMEM (reply port, rings),
     * -ENOBUFS (command port full),
     * -ETIMEDOUT (the worker did not answer within op_timeout_ns: is it polling?), or the
     * engine's -EADDRINUSE, -EMFILE.
     */
    [[nodiscard]] static int open(SocketService &service, uint16_t port,
                                  const RemoteSocketConfig &config,
                                  std::unique_ptr<RemoteSocket> *out);
    /** Closes the socket if still open (see close()). */
    ~RemoteSocket();
    RemoteSocket(const RemoteSocket &) = delete;
    RemoteSocket &operator=(const RemoteSocket &) = delete;

    /**
     * Sends a request: copies `msg` into pool bpages on this thread, then asks the worker.
     * With `id`: a command on the worker's port; waits for it and returns the RPC's id.
     * Without (nullptr): returns once the request is in the socket's request ring; a failure
     * then arrives through recv() as a response with error() set, id() 0 and this cookie.
     * Returns 0, -EINVAL (empty, dst port 0), -EMSGSIZE, -ENOBUFS (request ring or command
     * port, pool or slots full: nothing sent), -EBADF (closed),
     * -ETIMEDOUT (with id: no answer in time; the request may still start), or the engine's
     * -ENOMEM.
     */
    [[nodiscard]] int send(Endpoint dst, std::span<const uint8_t> msg, uint64_t cookie,
                           uint64_t *id);
    /** One request of send_burst(): its bytes (copied) and its completion cookie. */
    struct BurstRequest {
        std::span<const uint8_t> msg;
        uint64_t cookie = 0;
    };
    /**
     * send() without id of several requests to `dst`: each is copied into pool bpages on this
     * thread and queued in the socket's request ring, in order; the call stops at the first
     * one that cannot be: returns how many were queued (reqs.size(): all), or, if not even
     * the first was, its error: -EINVAL (empty, dst port 0), -EMSGSIZE, -ENOBUFS (request
     * ring or pool full: nothing of it sent, retry later), -EBADF (closed). A call that returns k <
     * reqs.size() left request k and later untouched; calling again from k says why.
     * Responses, and failures the worker reports later, arrive through recv() exactly as for
     * send() without id (an error response with id() 0 and the cookie). Empty reqs: 0.
     * Allocates nothing. Owner thread.
     */
    [[nodiscard]] int send_burst(Endpoint dst, std::span<const BurstRequest> reqs);
    /**
     * Sends a request whose body is [data, data + length) where it lies (a FilePager's memory,
     * an mmap'd file: anything readable), without copying it here: the worker starts the RPC
     * once the body is resident (SocketService::send_region: a pull on the control lcore if
     * needed). Returns once the command is queued; the response (or the RPC's error) arrives
     * through recv() with this cookie, and the id with it. The memory must stay valid and
     * unchanged until `done(ctx, cookie)` runs on this thread, inside a later call on this
     * socket (recv, send, close, ...), once the worker has let go of it; if the worker refused
     * the send, done runs too and recv() hands out the error (id 0). Sends queued after it
     * without waiting (send() without id, send_burst) may start before it: the worker takes
     * those first after an idle poll. Returns 0, -EINVAL
     * (null data or done, length 0, dst port 0), -EMSGSIZE, -ENOBUFS (command port or slots full),
     * -EBADF. On error `done` will not run.
     */
    [[nodiscard]] int send_region(Endpoint dst, const void *data, uint32_t length, uint64_t cookie,
                                  SendDone done, void *ctx);
    /**
     * Takes a received message: flags kRecvRequest and/or kRecvResponse, plus
     * kRecvNonblocking; `id` 0 = any, else that client RPC's response. Without
     * kRecvNonblocking waits as long as it takes. Returns 0, -EAGAIN (non-blocking, none
     * ready), -EINVAL (no kind in flags, null out), -EBADF.
     * Messages of the other kind that arrive meanwhile wait for a later recv(): up to
     * recv_credits on this side, as many again in the answer ring, and further ones in the
     * worker's engine.
     */
    [[nodiscard]] int recv(uint32_t flags, uint64_t id, RecvMessage *out);
    /** recv() waiting at most `timeout_ns` (-ETIMEDOUT). */
    [[nodiscard]] int recv_wait(uint32_t flags, uint64_t id, RecvMessage *out, uint64_t timeout_ns);
    /** Replies to request `id` from `dst`, copying msg; waits for the worker. Returns 0,
     *  -ENOENT (no such request waiting for a reply), and the errors of send(). */
    [[nodiscard]] int reply(Endpoint dst, uint64_t id, std::span<const uint8_t> msg);
    /** Replies with a received message's own bpages, zero-copy; `msg` is consumed (its bpages
     *  are the worker's from now on, also on error). Replies to msg's own RPC when
     *  `request_id` is 0. Errors as reply(), plus -EINVAL for an empty message. */
    [[nodiscard]] int reply_with(RecvMessage &&msg, Endpoint dst = {}, uint64_t request_id = 0);
    /** reply_with() without waiting for the worker: a server on an application thread then
     *  pays no lcore round trip per reply. Returns 0 once the command is queued (msg consumed),
     *  -EBADF, -EINVAL (as reply_with, msg released), or -ENOBUFS: no slot or the command port
     *  is full, and msg is left with the caller (still valid) to retry. What the worker refuses
     *  later (-ENOENT: no such request waiting; its bpages are the worker's then) is counted
     *  in stats().async_reply_errors with the last errno in stats().last_async_reply_error. */
    [[nodiscard]] int post_reply_with(RecvMessage &&msg, Endpoint dst = {},
                                      uint64_t request_id = 0);
    /**
     * post_reply_with() of several received requests (given by pointer), each answered with its
     * own bytes to its own client. Taken in order up to the first that cannot be: returns how many
     * were posted (msgs.size(): all; those are consumed, their bpages the worker's), or, when not
     * even the first was, its error: -EBADF, -EINVAL (an empty message or one of another pool: that
     * one is released, as post_reply_with does), -ENOBUFS (the request ring is full: it and the
     * later ones are left with the caller, still valid, to retry). What the worker refuses later is
     * counted as for post_reply_with(). Allocates nothing. Owner thread.
     */
    [[nodiscard]] int post_replies_with(std::span<RecvMessage *const> msgs);
    /** Aborts client RPC `id` (0 = all) with `error` (0: silently); see Engine::abort.
     *  Returns 0, -ENOENT, -EINVAL, -EBADF, -ENOBUFS, -ETIMEDOUT. */
    [[nodiscard]] int abort(uint64_t id, int error);
    /**
     * Closes the socket at the worker (its RPCs end, their resources return), waits for
     * every command still in flight to come home and releases the messages not taken.
     * Returns 0, -EBADF (not open), -ENOBUFS (command port full: still open, try again),
     * -ETIMEDOUT (the worker did not answer).
     */
    int close();
    /** This socket's address (the worker's answer to open). Any time after open. */
    Endpoint local_addr() const noexcept { return local_; }

    /** Counters of this socket (owner thread). */
    struct Stats {
        uint64_t commands = 0;      ///< Commands sent and requests queued.
        uint64_t backpressure = 0;  ///< -ENOBUFS returned: a port, ring or the slots were full.
        uint64_t received = 0;      ///< Messages handed to the application.
        uint64_t async_errors = 0;  ///< send() without id / send_region() refused by the worker.
        uint64_t regions_done = 0;  ///< send_region() whose memory came back (done ran).
        uint64_t async_reply_errors = 0;  ///< post_reply_with() refused by the worker.
        int last_async_reply_error = 0;   ///< Its errno (negative), 0 if none.
    };
    const Stats &stats() const noexcept { return stats_; }
    /** Command slots not at home (in flight or holding a received message). Owner thread. */
    unsigned slots_in_use() const noexcept;

    struct Slot;

  private:
    RemoteSocket() = default;
    Slot *take_slot() noexcept;
    void free_slot(Slot *slot) noexcept;
    /** A slot holding a copy of `msg` in pool bpages; nullptr with *rc = -ENOBUFS (no slot,
     *  counted as backpressure) or copy_in's error. */
    Slot *slot_with_copy(std::span<const uint8_t> msg, int *rc);
    /** A send (op kRemoteSend, with `cookie`) or reply (kRemoteReply, with the request's `id`)
     *  of a copy of `msg`, waiting for the worker's answer; the id the worker gave a send goes
     *  to *id_out (may be nullptr). Returns what send() and reply() document. */
    int copy_command(uint16_t op, Endpoint dst, uint64_t cookie, uint64_t id,
                     std::span<const uint8_t> msg, uint64_t *id_out);
    int command(Slot *slot, uint16_t op, bool wait);
    void handle_reply(Slot *slot) noexcept;
    int reply_slot(RecvMessage &msg, Endpoint dst, uint64_t request_id, Slot **out);
    unsigned drain() noexcept;
    unsigned take_answers() noexcept;
    int queue_request(uint16_t op, Endpoint dst, uint64_t cookie_or_id,
                      const homa::Message &m) noexcept;
    int queue_inline(Endpoint dst, uint64_t cookie, std::span<const uint8_t> msg) noexcept;
    Request &request_entry(uint16_t op, Endpoint dst, uint64_t cookie_or_id,
                           uint32_t length) noexcept;
    void publish_request(const Request &r) noexcept;
    bool request_room() noexcept;
    void release_unsent_requests() noexcept;
    bool take_ready(uint32_t flags, uint64_t id, RecvMessage *out) noexcept;
    int copy_in(std::span<const uint8_t> msg, homa::Message *m) noexcept;
    bool wait_home(uint64_t timeout_ns) noexcept;

    MessagePort *cmd_ = nullptr;
    MessagePort *reply_ = nullptr;
    mem::BpagePool *pool_ = nullptr;
    RemoteSocketConfig cfg_;
    Slot *slots_ = nullptr;
    unsigned num_slots_ = 0;
    Slot *free_ = nullptr;
    unsigned free_count_ = 0;
    struct Rings;              ///< The request and answer rings (remote_socket.cc).
    Rings *rings_ = nullptr;   ///< Used by the worker while rings_lent_.
    bool rings_lent_ = false;  ///< From the open command until the close is answered.
    /// Slot indices holding received messages, oldest first: a circular FIFO of num_slots_
    /// entries from ready_head_, so that taking the oldest (what a closed loop does) moves
    /// nothing, however many are ready.
    unsigned *ready_ = nullptr;
    unsigned ready_head_ = 0;
    unsigned num_ready_ = 0;
    unsigned &ready_at(unsigned k) noexcept {
        unsigned i = ready_head_ + k;
        return ready_[i >= num_slots_ ? i - num_slots_ : i];
    }
    void ready_push(const Slot *slot) noexcept;
    void ready_erase(unsigned k) noexcept;
    uint32_t handle_ = 0;
    Endpoint local_;
    bool open_ = false;
    Stats stats_;
};

}  // namespace homa::dp
