/**
 * @file
 * LWKT-style message ports (after DragonFly BSD's lwkt_msgport) on rte_ring: how lcores and
 * application threads talk. A MessagePort is owned by one thread (its *owner*, the only one that
 * receives from it); any number of threads send to it, or exactly one if the port was created
 * kSingleProducer. Messages (port_message.h) travel by pointer; nothing is allocated per message.
 *
 * Operations, with DragonFly's names in brackets:
 *   send_msg    [lwkt_sendmsg]    asynchronous; the reply arrives on the message's reply port.
 *   send_msg_burst                several send_msg() with one ring enqueue.
 *   do_msg      [lwkt_domsg]      send and wait for the reply, with a timeout.
 *   forward_msg [lwkt_forwardmsg] pass a received message to another port; reply port unchanged.
 *   reply_msg   [lwkt_replymsg]   return it to its reply port (or wake the do_msg() caller);
 *                                 with a ReplyBatch, async replies go home in bulk at flush().
 *   wait_msg / wait_port          wait for one particular reply / for any message.
 *   abort_msg   [lwkt_abortmsg]   the sender asks the target to give up; the abort chases the
 *                                 message through forwards to wherever it is.
 *
 * Abort contract. An abortable message that is aborted is seen by its (current) target twice:
 * first as the command (Delivery::kCommand) and then once more as the abort command
 * (Delivery::kAbort), even if the abort happened before the target first retrieved it. The
 * target answers:
 *   - every kCommand with exactly one reply_msg() or forward_msg(), unless it is still working
 *     on it when the kAbort arrives, in which case the one reply_msg() answers both;
 *   - every kAbort with reply_msg(). If it had already replied (the abort raced the reply), that
 *     first reply and its error stand; the second call only lets the message go home.
 * Either way the message reaches its reply port exactly once, after the abort was seen.
 *
 * @code
 *   // set-up (any thread): the control lcore's port has many senders, a worker's reply port one.
 *   MessagePort *ctl = MessagePort::create("ctl", 1024, MessagePortMode::kMultiProducer,
 * SOCKET_ID_ANY); MessagePort *rp = MessagePort::create("w0-reply", 256,
 * MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
 *   // worker lcore:
 *   m.init(kOpPull, rp, kAbortable);
 *   if (send_msg(*ctl, &m) == -ENOBUFS) retry_later(&m);   // backpressure, m is still ours
 *   PortMessage *got[32];
 *   unsigned n = rp->receive_burst(got, 32);                // never blocks
 *   for (unsigned i = 0; i < n; ++i) handle_reply(got[i]);  // got[i]->delivery() == kReply
 * @endcode
 *
 * Errors are negative errnos; nothing here throws, and no function blocks except do_msg(),
 * wait_msg() and wait_port(), which poll (rte_pause, then sched_yield) until their timeout.
 */
#pragma once

#include <atomic>
#include <cstdint>

#include "homa/dataplane/doorbell.h"
#include "homa/dataplane/port_message.h"

struct rte_ring;

namespace homa::dp {

/** Who may enqueue to a port. The owner is always the only consumer. */
enum class MessagePortMode : uint8_t {
    kSingleProducer,  ///< Exactly one thread ever sends, forwards or replies to this port.
    kMultiProducer,   ///< Any thread may.
};

/** Most messages one receive_burst() call should ask for (the burst size of idea 6). */
inline constexpr unsigned kMessagePortBurst = 32;

class ReplyBatch;

class MessagePort {
  public:
    /**
     * Creates a port whose ring holds exactly `capacity` messages (rte_ring with
     * RING_F_EXACT_SZ; single consumer; single or multi producer per `mode`). `name` must be
     * unique in the process (it names the ring). Any thread, at set-up.
     * Returns nullptr with rte_errno set: EINVAL (capacity 0 or too large), EEXIST (name in
     * use), ENOMEM, or whatever rte_ring_create reports.
     */
    static MessagePort *create(const char *name, unsigned capacity, MessagePortMode mode,
                               int socket_id);

    /**
     * Frees the port. No message may be in flight to or from it and no thread may use it
     * afterwards. nullptr is ignored.
     */
    static void destroy(MessagePort *port);

    /**
     * Receives up to `n` messages into `msgs` and returns how many (0 when idle; never
     * blocks). Each is a command, an abort command or a reply: see PortMessage::delivery().
     * Abort commands for messages whose command this owner has already seen come first;
     * within one sender's traffic commands come in send order. Owner only.
     */
    unsigned receive_burst(PortMessage **msgs, unsigned n) noexcept;

    /**
     * Waits up to `timeout_ns` for any message and returns it (as receive_burst() would), or
     * nullptr on timeout. Owner only; polls, so meant for application threads and tests.
     */
    PortMessage *wait_port(uint64_t timeout_ns) noexcept;

    /**
     * True if receive_burst() may have something to hand out: messages in the ring, the
     * backlog or the overflow inbox, or abort tokens. Owner only; cheap (no atomic writes),
     * for deciding whether to go to sleep.
     */
    bool has_input() const noexcept;

    /** Messages waiting in the ring (a snapshot). Any thread. */
    unsigned count() const noexcept;
    /** The name given at creation. */
    const char *name() const noexcept;

    /** Counters kept by the owner; read from another thread they are approximate. */
    struct Stats {
        uint64_t commands = 0;         ///< Delivery::kCommand handed out.
        uint64_t aborts = 0;           ///< Delivery::kAbort handed out.
        uint64_t replies = 0;          ///< Delivery::kReply handed out.
        uint64_t abort_chases = 0;     ///< Abort tokens passed on to the port a message moved to.
        uint64_t reply_overflows = 0;  ///< Replies that found this ring full (see msgport.cc).
    };
    /** A copy of the counters. Exact on the owner, approximate elsewhere. */
    Stats stats() const noexcept;

  private:
    friend class ReplyBatch;
    friend int send_msg(MessagePort &port, PortMessage *msg) noexcept;
    friend int send_msg_burst(MessagePort &port, PortMessage *const *msgs, unsigned n) noexcept;
    friend int do_msg(MessagePort &port, PortMessage *msg, uint64_t timeout_ns,
                      Doorbell *bell) noexcept;
    friend int forward_msg(MessagePort &port, PortMessage *msg) noexcept;
    friend int reply_msg(PortMessage *msg, int error, ReplyBatch *batch) noexcept;
    friend int abort_msg(PortMessage *msg) noexcept;
    friend int wait_msg(PortMessage *msg, uint64_t timeout_ns) noexcept;

    MessagePort() = default;
    void push_abort(PortMessage *msg) noexcept;
    void push_overflow(PortMessage *msg) noexcept;
    void release_reply(PortMessage *msg) noexcept;
    void release_replies(void **msgs, unsigned n) noexcept;
    static void release(PortMessage *msg, uint32_t flags, ReplyBatch *batch) noexcept;
    unsigned deliver_aborts(PortMessage **msgs, unsigned n) noexcept;
    void backlog_append(PortMessage *msg) noexcept;
    void take_overflow() noexcept;
    PortMessage *accept(PortMessage *msg) noexcept;
    bool take_from_backlog(PortMessage *wanted) noexcept;

    rte_ring *ring_ = nullptr;
    // Written by other threads: aborts chasing a message, replies that found the ring full.
    alignas(64) std::atomic<PortMessage *> abort_inbox_{nullptr};
    std::atomic<PortMessage *> overflow_inbox_{nullptr};
    std::atomic<uint64_t> reply_overflows_{0};
    // Owner only (the counters are atomics only so that stats() may read them anywhere).
    alignas(64) PortMessage *pending_aborts_ = nullptr;  ///< Tokens waiting for their command.
    PortMessage *backlog_head_ = nullptr;  ///< Dequeued but not yet handed out (wait_msg).
    PortMessage *backlog_tail_ = nullptr;
    std::atomic<uint64_t> commands_{0};
    std::atomic<uint64_t> aborts_{0};
    std::atomic<uint64_t> replies_{0};
    std::atomic<uint64_t> abort_chases_{0};
    char name_[32] = {};
};

/**
 * Sends an owned message (kMsgDone set, init() called with a reply port) to `port`
 * asynchronously; the reply will arrive on msg->reply_port(). Any thread allowed to produce
 * to `port`. Returns 0 (the message now belongs to the port layer until its reply is
 * received), -ENOBUFS (ring full: backpressure, the message stays owned by the caller,
 * unchanged), -EBUSY (the message is in flight), -EINVAL (no reply port).
 */
int send_msg(MessagePort &port, PortMessage *msg) noexcept;

/**
 * send_msg() of `n` messages to one port with a single ring enqueue: the producer pays the
 * ring's shared head and tail (cache lines the owner reads too) once per burst instead of once
 * per message. Every message must be sendable as for send_msg() (owned: kMsgDone; a reply
 * port). They enter the ring in order; those the ring has no room for stay the caller's,
 * unchanged (backpressure, as send_msg()'s -ENOBUFS). Any thread allowed to produce to `port`.
 * Returns how many were sent, always the first ones (0: the ring is full; n: all), or -EBUSY
 * (one is in flight) / -EINVAL (one has no reply port, or n > kMessagePortBurst): then
 * nothing was sent.
 */
int send_msg_burst(MessagePort &port, PortMessage *const *msgs, unsigned n) noexcept;

/**
 * Sends an owned message synchronously and waits up to `timeout_ns` for the reply (the reply
 * does not go through a port: the target's reply_msg() marks it done). If `bell` is given it
 * is rung after the message is queued (the port's owner may sleep on it; doorbell.h). Any
 * thread allowed to produce to `port`; polls while waiting, so not for poll-mode workers.
 * Returns the target's error (>= 0 or negative), -ENOBUFS (ring full, not sent, still owned),
 * -EBUSY (in flight), or -ETIMEDOUT: the message is still with the target; the caller may
 * abort_msg() it and must wait_msg() for it before touching or reusing it.
 */
int do_msg(MessagePort &port, PortMessage *msg, uint64_t timeout_ns,
           Doorbell *bell = nullptr) noexcept;

/**
 * Passes a message received as Delivery::kCommand on to `port`; its reply port is unchanged
 * and a pending abort follows it. Caller: the owner of the port it was received on, which
 * gives it up on success. Returns 0, -ENOBUFS (ring full: the caller still holds it, as
 * received), or -EINVAL (not a held command: in transit, replied, or an abort command).
 */
int forward_msg(MessagePort &port, PortMessage *msg) noexcept;

/**
 * Replies with `error` (0 or a negative errno) to a message received as a command or an abort
 * command; see the abort contract above. Caller: the owner of the port it was received on.
 * Async messages go to their reply port (which cannot refuse: a full reply ring spills to an
 * overflow list), sync ones wake the do_msg() caller. Returns 0, -EALREADY (already replied
 * and no abort command to answer), or -EINVAL (not held by a target).
 */
int reply_msg(PortMessage *msg, int error) noexcept;

/**
 * Replies of one port owner collected for bulk delivery: reply_msg(msg, error, &batch) does
 * everything reply_msg(msg, error) does, except that an async reply is put on its reply port
 * by the next flush(), together with the batch's other replies to that port (one ring
 * enqueue per reply port instead of one per reply: a worker answering a burst of commands,
 * and the application taking the answers, touch the rings' shared lines once per burst). Until
 * then the sender cannot see the reply. Sync replies (do_msg) are not delayed: their caller
 * spins on the message itself. flush() also runs when the batch is full and when it is
 * destroyed; per reply port, replies arrive in the order they were given.
 * Threading: one thread, the owner of the port the commands were received on; a batch lives
 * on that thread's stack or in its state. Nothing allocates.
 */
class ReplyBatch {
  public:
    static constexpr unsigned kCapacity = 2 * kMessagePortBurst;
    ReplyBatch() = default;
    ReplyBatch(const ReplyBatch &) = delete;
    ReplyBatch &operator=(const ReplyBatch &) = delete;
    ~ReplyBatch() { flush(); }
    /** Puts every collected reply on its reply port. */
    void flush() noexcept;
    /** Replies collected and not yet flushed. */
    unsigned size() const noexcept { return n_; }

  private:
    friend class MessagePort;
    void add(PortMessage *msg) noexcept;
    PortMessage *msgs_[kCapacity];
    unsigned n_ = 0;
};

/** reply_msg() whose async reply waits in `batch` (nullptr: reply_msg(msg, error)). Same
 *  contract and returns; caller: the owner of the port the message was received on, which
 *  also owns `batch`. */
int reply_msg(PortMessage *msg, int error, ReplyBatch *batch) noexcept;

/**
 * Asks the target of an abortable message in flight to abort it: the target will see the
 * abort command once, after the command, wherever the message has been forwarded. Caller: the
 * sender (the reply port's owner, or the do_msg() caller's thread after -ETIMEDOUT), never
 * while send_msg() is still running. Returns 0 (the abort will be seen; the reply still comes,
 * exactly once), -EPERM (not abortable), or -EALREADY (not in flight, already replied, or
 * already aborted).
 */
int abort_msg(PortMessage *msg) noexcept;

/**
 * Waits up to `timeout_ns` for one particular message's reply. For async messages the caller
 * must own the reply port; other messages that arrive meanwhile stay queued for the next
 * receive_burst(), in order. Returns 0 (the caller owns the message again; for async messages
 * it will not be returned by receive_burst()), or -ETIMEDOUT.
 */
int wait_msg(PortMessage *msg, uint64_t timeout_ns) noexcept;

}  // namespace homa::dp
