// LWKT-style message ports on rte_ring; see msgport.h for the contract.
//
// DESIGN NOTES
//
// Who touches a message. A message in flight is, at any instant, in exactly one of: a port's
// ring or backlog (kMsgQueued), the hands of the owner of the port that retrieved it (its
// *holder*, kMsgRetrieved), or back with its sender (kMsgDone). Only the thread that has it
// in hand writes its fields; the one exception is the sender's abort_msg(), which may run at
// any time and only sets kMsgAborted (a CAS on the flags word) and pushes the abort token.
//
// The flags, and their legal order within one flight (send to receipt of the reply):
//
//   transition                         by              flags                    other fields
//   1 send_msg / do_msg                sender          DONE -> QUEUED           target := port
//                                                      (+ASYNC for send_msg, ABORTABLE kept)
//   2 receive as command               target owner    QUEUED -> RETRIEVED      holder := port
//   3 forward_msg                      holder          RETRIEVED -> QUEUED      holder := null,
//                                                      (then 2 at the next port) target := next
//   4 abort_msg                        sender          +ABORTED  (only if ABORTABLE and none of
//                                                      DONE, REPLIED, ABORTED) token -> inbox
//   5 receive as abort command         holder's port   +ABORT_SEEN (only with ABORTED, only
//                                                      when holder == that port)
//   6 reply_msg, no abort pending      holder          +REPLIED, then 9
//   7 reply_msg, ABORTED, not SEEN     holder          +REPLIED; held: the holder keeps it
//   8 reply_msg after ABORT_SEEN       holder          +REPLIED (if not yet), then 9
//   9 release                          holder          async: +QUEUED onto the reply port;
//                                                      sync: +DONE          holder := null
//                                                      (async with a ReplyBatch: holder :=
//                                                      null now, +QUEUED and the enqueue at
//                                                      the batch's flush)
//  10 receive as reply                 sender          QUEUED -> DONE
//
// So a flight reads DONE, QUEUED, RETRIEVED, (QUEUED, RETRIEVED)*, REPLIED, [QUEUED,] DONE,
// with ABORTED added anywhere between send and REPLIED, and ABORT_SEEN after ABORTED while
// RETRIEVED. ABORTED and REPLIED are decided by CAS on one word: whichever is set first wins.
// If the reply wins, abort_msg() returns -EALREADY and no abort command exists; if the abort
// wins, the reply is held (7) until the abort command has been seen and answered (8). That is
// how "every aborted message is seen as the abort command exactly once, and every message is
// replied exactly once" holds even when the abort races the reply.
//
// The abort token. An aborted flight has exactly one token: the message itself, linked
// through abort_next_, which is on one list at a time: a port's abort inbox (multi-producer,
// intrusive: push by CAS, the owner takes the whole list with one exchange, so there is no
// ABA and it can never be full), then that port's pending list (owner only). The owner of
// port X looks at each token it has:
//   holder == X   X has seen the command: hand out the abort command now (5).
//   target == X   the message is on its way to X or waiting in X's ring: keep the token
//                 pending, so the command is seen first even if the abort overtook it.
//   otherwise     the message was forwarded on: push the token to target's inbox (a chase,
//                 like DragonFly's IPI chase of ms_target_port).
// Why the reads are safe: holder == X is only ever written by X, and only X moves the message
// away from X again, so X never misreads it. target may be stale for a moment when a forward
// to X fails and is undone; the token is then re-examined on X's next poll and chased back.
//
// Tried and rejected:
//  - DragonFly requeues an aborted message on the target's queue. Our queues are rings: the
//    abort could find the ring full (an abort that fails with -ENOBUFS is one more thing every
//    sender must retry), and a kSingleProducer ring's producer is somebody else. Hence the
//    intrusive abort inbox beside the ring; an idle poll costs one relaxed load of it.
//  - Letting the sender find the message's current port: without a lock, forward and abort
//    race; the chase above needs none.
//  - DragonFly turns an abort into a no-op when the target replies before looping; we must
//    deliver the abort command exactly once even then, hence the held reply.
//  - A reply that finds the reply ring full cannot be refused (the target has nowhere to keep
//    it), so it spills to the reply port's overflow inbox, delivered after the ring. Sizing a
//    reply port for the sender's messages in flight keeps this path cold; it is counted.
//
// Messages dequeued but not yet handed out (wait_msg() looking for one particular reply)
// wait in the owner's backlog, still kMsgQueued, with holder unset: for the abort protocol
// they are still "in the ring".
#include "homa/dataplane/msgport.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <sched.h>

#include <cstdio>
#include <cstring>
#include <new>

#include "relaxed_counter.h"

namespace homa::dp {
namespace {

static_assert(sizeof(PortMessage *) == sizeof(void *), "rings carry message pointers");

// Polls `done` until it returns true or `timeout_ns` passes: rte_pause first (cheap, keeps the
// wake-up instant), then sched_yield so that a waiting application thread sharing a core with
// the lcore it waits for lets that lcore run.
template <class Done>
bool poll_until(Done done, uint64_t timeout_ns) noexcept {
    const uint64_t start = rte_get_timer_cycles();
    const uint64_t hz = rte_get_timer_hz();
    const uint64_t whole_seconds = timeout_ns / 1000000000u;
    const uint64_t limit = whole_seconds >= UINT64_MAX / hz / 2  // "forever", without overflow
                               ? UINT64_MAX
                               : whole_seconds * hz + timeout_ns % 1000000000u * hz / 1000000000u;
    for (unsigned spins = 0;; ++spins) {
        if (done()) return true;
        if (rte_get_timer_cycles() - start >= limit) return done();
        if (spins < 1024) {
            rte_pause();
        } else {
            sched_yield();
        }
    }
}

}  // namespace

MessagePort *MessagePort::create(const char *name, unsigned capacity, MessagePortMode mode,
                                 int socket_id) {
    if (capacity == 0 || capacity > RTE_RING_SZ_MASK || name == nullptr ||
        std::strlen(name) >= sizeof(MessagePort::name_)) {
        rte_errno = EINVAL;
        return nullptr;
    }
    unsigned flags = RING_F_SC_DEQ | RING_F_EXACT_SZ;
    if (mode == MessagePortMode::kSingleProducer) flags |= RING_F_SP_ENQ;
    rte_ring *ring = rte_ring_create(name, capacity, socket_id, flags);
    if (ring == nullptr) return nullptr;  // rte_errno set by rte_ring_create
    void *mem = rte_zmalloc_socket(name, sizeof(MessagePort), RTE_CACHE_LINE_SIZE, socket_id);
    if (mem == nullptr) {
        rte_ring_free(ring);
        rte_errno = ENOMEM;
        return nullptr;
    }
    MessagePort *port = new (mem) MessagePort();
    port->ring_ = ring;
    std::snprintf(port->name_, sizeof(port->name_), "%s", name);
    return port;
}

void MessagePort::destroy(MessagePort *port) {
    if (port == nullptr) return;
    rte_ring_free(port->ring_);
    port->~MessagePort();
    rte_free(port);
}

unsigned MessagePort::count() const noexcept { return rte_ring_count(ring_); }

bool MessagePort::has_input() const noexcept {
    return !rte_ring_empty(ring_) || backlog_head_ != nullptr || pending_aborts_ != nullptr ||
           abort_inbox_.load(std::memory_order_relaxed) != nullptr ||
           overflow_inbox_.load(std::memory_order_relaxed) != nullptr;
}

const char *MessagePort::name() const noexcept { return name_; }

MessagePort::Stats MessagePort::stats() const noexcept {
    Stats s;
    s.commands = commands_.load(std::memory_order_relaxed);
    s.aborts = aborts_.load(std::memory_order_relaxed);
    s.replies = replies_.load(std::memory_order_relaxed);
    s.abort_chases = abort_chases_.load(std::memory_order_relaxed);
    s.reply_overflows = reply_overflows_.load(std::memory_order_relaxed);
    return s;
}

void MessagePort::push_abort(PortMessage *msg) noexcept {
    PortMessage *head = abort_inbox_.load(std::memory_order_relaxed);
    do {
        msg->abort_next_ = head;
    } while (!abort_inbox_.compare_exchange_weak(head, msg, std::memory_order_release,
                                                 std::memory_order_relaxed));
}

void MessagePort::push_overflow(PortMessage *msg) noexcept {
    reply_overflows_.fetch_add(1, std::memory_order_relaxed);
    PortMessage *head = overflow_inbox_.load(std::memory_order_relaxed);
    do {
        msg->next_ = head;
    } while (!overflow_inbox_.compare_exchange_weak(head, msg, std::memory_order_release,
                                                    std::memory_order_relaxed));
}

void MessagePort::release_reply(PortMessage *msg) noexcept {
    msg->update(0, kMsgQueued);
    if (rte_ring_enqueue(ring_, msg) != 0) push_overflow(msg);
}

// release_reply() for a run of replies to this port (ReplyBatch::flush): one enqueue.
void MessagePort::release_replies(void **msgs, unsigned n) noexcept {
    for (unsigned i = 0; i < n; ++i) static_cast<PortMessage *>(msgs[i])->update(0, kMsgQueued);
    unsigned in = rte_ring_enqueue_burst(ring_, msgs, n, nullptr);
    for (unsigned i = in; i < n; ++i) push_overflow(static_cast<PortMessage *>(msgs[i]));
}

void ReplyBatch::add(PortMessage *msg) noexcept {
    if (n_ == kCapacity) flush();
    msgs_[n_++] = msg;
}

void ReplyBatch::flush() noexcept {
    // One pass per reply port: a worker's burst usually answers one or two application
    // sockets, so this is a pass or two over at most kCapacity pointers.
    unsigned left = n_;
    while (left > 0) {
        MessagePort *port = msgs_[0]->reply_port_;
        void *run[kCapacity];
        unsigned k = 0, keep = 0;
        for (unsigned i = 0; i < left; ++i) {
            if (msgs_[i]->reply_port_ == port) {
                run[k++] = msgs_[i];
            } else {
                msgs_[keep++] = msgs_[i];  // not yet enqueued: still ours to read
            }
        }
        port->release_replies(run, k);
        left = keep;
    }
    n_ = 0;
}

void MessagePort::backlog_append(PortMessage *msg) noexcept {
    msg->next_ = nullptr;
    if (backlog_tail_ == nullptr) {
        backlog_head_ = msg;
    } else {
        backlog_tail_->next_ = msg;
    }
    backlog_tail_ = msg;
}

void MessagePort::take_overflow() noexcept {
    if (overflow_inbox_.load(std::memory_order_relaxed) == nullptr) return;
    PortMessage *lifo = overflow_inbox_.exchange(nullptr, std::memory_order_acquire);
    PortMessage *fifo = nullptr;  // pushes come out newest first; restore their order
    while (lifo != nullptr) {
        PortMessage *next = lifo->next_;
        lifo->next_ = fifo;
        fifo = lifo;
        lifo = next;
    }
    while (fifo != nullptr) {
        PortMessage *next = fifo->next_;
        backlog_append(fifo);
        fifo = next;
    }
}

// Transitions 2 and 10: a message taken from this port's ring or backlog is handed out.
PortMessage *MessagePort::accept(PortMessage *msg) noexcept {
    if (msg->flags() & kMsgReplied) {  // only replies arrive already replied
        msg->update(kMsgQueued, kMsgDone);
        bump(replies_);
        return msg;
    }
    // holder first: once RETRIEVED is visible the abort token may be handed out here.
    msg->holder_.store(this, std::memory_order_release);
    msg->update(kMsgQueued, kMsgRetrieved);
    bump(commands_);
    return msg;
}

// Transition 5 and the chase (see DESIGN NOTES, "The abort token").
unsigned MessagePort::deliver_aborts(PortMessage **msgs, unsigned n) noexcept {
    if (abort_inbox_.load(std::memory_order_relaxed) != nullptr) {
        PortMessage *lifo = abort_inbox_.exchange(nullptr, std::memory_order_acquire);
        PortMessage **tail = &pending_aborts_;
        while (*tail != nullptr) tail = &(*tail)->abort_next_;
        PortMessage *fifo = nullptr;
        while (lifo != nullptr) {
            PortMessage *next = lifo->abort_next_;
            lifo->abort_next_ = fifo;
            fifo = lifo;
            lifo = next;
        }
        *tail = fifo;
    }
    unsigned k = 0;
    PortMessage **link = &pending_aborts_;
    while (*link != nullptr && k < n) {
        PortMessage *msg = *link;
        if (msg->holder_.load(std::memory_order_acquire) == this) {
            *link = msg->abort_next_;
            msg->abort_next_ = nullptr;
            msg->update(0, kMsgAbortSeen);
            msgs[k++] = msg;
            bump(aborts_);
            continue;
        }
        MessagePort *target = msg->target_.load(std::memory_order_acquire);
        if (target == this) {
            link = &msg->abort_next_;  // the command has not been seen here yet
            continue;
        }
        *link = msg->abort_next_;
        target->push_abort(msg);
        bump(abort_chases_);
    }
    return k;
}

unsigned MessagePort::receive_burst(PortMessage **msgs, unsigned n) noexcept {
    unsigned k = 0;
    if (pending_aborts_ != nullptr || abort_inbox_.load(std::memory_order_relaxed) != nullptr) {
        k = deliver_aborts(msgs, n);
    }
    while (k < n && backlog_head_ != nullptr) {
        PortMessage *msg = backlog_head_;
        backlog_head_ = msg->next_;
        if (backlog_head_ == nullptr) backlog_tail_ = nullptr;
        msgs[k++] = accept(msg);
    }
    while (k < n) {
        // Through a void * array: the ring stores void *, and reading those slots as
        // PortMessage * would break aliasing rules in the inlined ring code.
        void *burst[kMessagePortBurst];
        unsigned want = n - k < kMessagePortBurst ? n - k : kMessagePortBurst;
        unsigned got = rte_ring_dequeue_burst(ring_, burst, want, nullptr);
        for (unsigned i = 0; i < got; ++i) msgs[k++] = accept(static_cast<PortMessage *>(burst[i]));
        if (got < want) break;
    }
    if (k < n && overflow_inbox_.load(std::memory_order_relaxed) != nullptr) {
        take_overflow();
        while (k < n && backlog_head_ != nullptr) {
            PortMessage *msg = backlog_head_;
            backlog_head_ = msg->next_;
            if (backlog_head_ == nullptr) backlog_tail_ = nullptr;
            msgs[k++] = accept(msg);
        }
    }
    return k;
}

PortMessage *MessagePort::wait_port(uint64_t timeout_ns) noexcept {
    PortMessage *msg = nullptr;
    poll_until([&] { return receive_burst(&msg, 1) == 1; }, timeout_ns);
    return msg;
}

// Moves everything waiting in the ring and the overflow inbox to the backlog, then unlinks
// `wanted` from the backlog if it is there.
bool MessagePort::take_from_backlog(PortMessage *wanted) noexcept {
    void *burst[kMessagePortBurst];
    unsigned got;
    while ((got = rte_ring_dequeue_burst(ring_, burst, kMessagePortBurst, nullptr)) > 0) {
        for (unsigned i = 0; i < got; ++i) backlog_append(static_cast<PortMessage *>(burst[i]));
    }
    take_overflow();
    PortMessage *prev = nullptr;
    for (PortMessage *m = backlog_head_; m != nullptr; prev = m, m = m->next_) {
        if (m != wanted) continue;
        (prev == nullptr ? backlog_head_ : prev->next_) = m->next_;
        if (backlog_tail_ == m) backlog_tail_ = prev;
        return true;
    }
    return false;
}

// Transition 9: gives a replied message back. The caller held it and must not touch it
// afterwards.
void MessagePort::release(PortMessage *msg, uint32_t flags, ReplyBatch *batch) noexcept {
    msg->holder_.store(nullptr, std::memory_order_relaxed);
    if (flags & kMsgAsync) {
        if (batch != nullptr) {
            batch->add(msg);  // transition 9 completes at the batch's flush
            return;
        }
        msg->reply_port_->release_reply(msg);
    } else {
        msg->update(0, kMsgDone);  // the do_msg() caller owns it from here on
    }
}

int send_msg(MessagePort &port, PortMessage *msg) noexcept {
    const uint32_t flags = msg->flags_.load(std::memory_order_relaxed);
    if (!(flags & kMsgDone)) return -EBUSY;
    if (msg->reply_port_ == nullptr) return -EINVAL;
    msg->error_ = 0;
    msg->holder_.store(nullptr, std::memory_order_relaxed);
    msg->target_.store(&port, std::memory_order_relaxed);
    msg->flags_.store(kMsgQueued | kMsgAsync | (flags & kMsgAbortable), std::memory_order_relaxed);
    if (rte_ring_enqueue(port.ring_, msg) != 0) {  // the ring's release orders the stores above
        msg->flags_.store(flags, std::memory_order_relaxed);
        return -ENOBUFS;
    }
    return 0;
}

int send_msg_burst(MessagePort &port, PortMessage *const *msgs, unsigned n) noexcept {
    if (n > kMessagePortBurst) return -EINVAL;
    uint32_t before[kMessagePortBurst];
    for (unsigned i = 0; i < n; ++i) {
        before[i] = msgs[i]->flags_.load(std::memory_order_relaxed);
        if (!(before[i] & kMsgDone)) return -EBUSY;
        if (msgs[i]->reply_port_ == nullptr) return -EINVAL;
    }
    for (unsigned i = 0; i < n; ++i) {
        PortMessage *msg = msgs[i];
        msg->error_ = 0;
        msg->holder_.store(nullptr, std::memory_order_relaxed);
        msg->target_.store(&port, std::memory_order_relaxed);
        msg->flags_.store(kMsgQueued | kMsgAsync | (before[i] & kMsgAbortable),
                          std::memory_order_relaxed);
    }
    // Through a void * array, as receive_burst() does (the ring's inlined copy reads void *).
    // The ring's release orders the stores above, as in send_msg().
    void *burst[kMessagePortBurst];
    for (unsigned i = 0; i < n; ++i) burst[i] = msgs[i];
    unsigned sent = rte_ring_enqueue_burst(port.ring_, burst, n, nullptr);
    for (unsigned i = sent; i < n; ++i) msgs[i]->flags_.store(before[i], std::memory_order_relaxed);
    return static_cast<int>(sent);
}

int do_msg(MessagePort &port, PortMessage *msg, uint64_t timeout_ns, Doorbell *bell) noexcept {
    const uint32_t flags = msg->flags_.load(std::memory_order_relaxed);
    if (!(flags & kMsgDone)) return -EBUSY;
    msg->error_ = 0;
    msg->holder_.store(nullptr, std::memory_order_relaxed);
    msg->target_.store(&port, std::memory_order_relaxed);
    msg->flags_.store(kMsgQueued | (flags & kMsgAbortable), std::memory_order_relaxed);
    if (rte_ring_enqueue(port.ring_, msg) != 0) {
        msg->flags_.store(flags, std::memory_order_relaxed);
        return -ENOBUFS;
    }
    if (bell != nullptr) bell->ring();
    if (wait_msg(msg, timeout_ns) != 0) return -ETIMEDOUT;
    return msg->error_;
}

int forward_msg(MessagePort &port, PortMessage *msg) noexcept {
    const uint32_t flags = msg->flags();
    constexpr uint32_t kMustBe =
        kMsgRetrieved | kMsgReplied | kMsgAbortSeen | kMsgDone | kMsgQueued;
    if ((flags & kMustBe) != kMsgRetrieved) return -EINVAL;
    MessagePort *self = msg->holder_.load(std::memory_order_relaxed);
    // target before QUEUED and holder := null: a token examined meanwhile is chased towards
    // `port` and waits there until `port` has seen the command.
    msg->target_.store(&port, std::memory_order_release);
    msg->update(kMsgRetrieved, kMsgQueued);
    msg->holder_.store(nullptr, std::memory_order_release);
    if (rte_ring_enqueue(port.ring_, msg) == 0) return 0;
    // Undo, holder first: a token that reached `port` meanwhile is chased back here.
    msg->holder_.store(self, std::memory_order_release);
    msg->update(kMsgQueued, kMsgRetrieved);
    msg->target_.store(self, std::memory_order_release);
    return -ENOBUFS;
}

int reply_msg(PortMessage *msg, int error) noexcept { return reply_msg(msg, error, nullptr); }

int reply_msg(PortMessage *msg, int error, ReplyBatch *batch) noexcept {
    const uint32_t flags = msg->flags();
    if ((flags & (kMsgRetrieved | kMsgQueued | kMsgDone)) != kMsgRetrieved) return -EINVAL;
    if (flags & kMsgAbortSeen) {  // transition 8: the abort command has been seen
        if (!(flags & kMsgReplied)) {
            msg->error_ = error;
            msg->update(0, kMsgReplied);
        }
        MessagePort::release(msg, flags, batch);
        return 0;
    }
    if (flags & kMsgReplied) return -EALREADY;  // held, waiting for its abort command
    msg->error_ = error;
    const uint32_t before = msg->update(0, kMsgReplied);  // races abort_msg()'s CAS
    if (before & kMsgAborted) return 0;                   // transition 7: held
    MessagePort::release(msg, before, batch);             // transition 6
    return 0;
}

int abort_msg(PortMessage *msg) noexcept {
    uint32_t flags = msg->flags_.load(std::memory_order_relaxed);
    do {
        if (!(flags & kMsgAbortable)) return -EPERM;
        if (flags & (kMsgDone | kMsgReplied | kMsgAborted)) return -EALREADY;
    } while (!msg->flags_.compare_exchange_weak(
        flags, flags | kMsgAborted, std::memory_order_acq_rel, std::memory_order_relaxed));
    // The token goes to the last port the sender knows of; port owners chase it onwards.
    msg->target_.load(std::memory_order_acquire)->push_abort(msg);
    return 0;
}

int wait_msg(PortMessage *msg, uint64_t timeout_ns) noexcept {
    if (!(msg->flags() & kMsgAsync)) {
        return poll_until([&] { return (msg->flags() & kMsgDone) != 0; }, timeout_ns) ? 0
                                                                                      : -ETIMEDOUT;
    }
    MessagePort *port = msg->reply_port_;
    bool found = poll_until(
        [&] {
            if (msg->flags() & kMsgDone) return true;  // already handed out
            if (!port->take_from_backlog(msg)) return false;
            port->accept(msg);
            return true;
        },
        timeout_ns);
    return found ? 0 : -ETIMEDOUT;
}

}  // namespace homa::dp
