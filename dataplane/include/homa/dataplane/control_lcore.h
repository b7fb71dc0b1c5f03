/**
 * @file
 * The control lcore: slow work that a poll-mode worker must never do itself. It serves, on
 * its own lcore (which may share a core with a worker):
 *   - residency checks (is this body in core?) and pulls (prefetch it: the page faults, and
 *     any I/O, happen here) through mem/'s ResidencyChain;
 *   - "run this function here" requests, the way pager I/O is plugged in without the control
 *     lcore knowing pager internals;
 *   - snapshots of its own counters.
 * A worker sends a request and keeps polling its other work; the reply arrives on the
 * worker's reply port. Pulls are done a chunk per loop iteration, so a pull can be aborted
 * while it runs (an RPC aborted while its body is being prefetched) and small requests are not
 * stuck behind a large pull. When idle the loop backs off (idle_backoff.h): it spins, yields,
 * then sleeps on a doorbell (doorbell.h) for up to backoff.max_sleep_ns; send() and abort()
 * ring it, so a request wakes it at once while an idle control lcore wakes only a few hundred
 * times a second.
 *
 * @code
 *   // set-up, main lcore
 *   homa::mem::ResidencyChain chain;
 *   auto *ctl = ControlLcore::create("ctl", {.residency = &chain}, SOCKET_ID_ANY);
 *   ctl->launch(control_lcore_id);
 *   MessagePort *reply = MessagePort::create("w0-reply", 64, MessagePortMode::kSingleProducer,
 * SOCKET_ID_ANY);
 *   // worker lcore
 *   prepare_pull(&msg, reply, body, len);
 *   if (ctl->send(&msg) == -ENOBUFS) { ... retry later ... }
 *   ... poll RX, timers, ...; n = reply->receive_burst(got, kMessagePortBurst);
 *   if (got[i] == &msg && msg.error() == 0 && msg.body<RegionRequest>().resident) transmit();
 *   ctl->abort(&msg);  // if the RPC dies meanwhile: the reply comes back -ECANCELED (or done)
 *   // shut-down, main lcore, once no worker sends any more
 *   ctl->stop(); ControlLcore::destroy(ctl);
 * @endcode
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "homa/dataplane/doorbell.h"
#include "homa/dataplane/idle_backoff.h"
#include "homa/dataplane/msgport.h"
#include "homa/dataplane/port_message.h"
#include "homa/proto/timetrace.h"

namespace homa::mem {
class ResidencyChain;
}

namespace homa::dp {

/** Requests the control lcore serves (PortMessage::opcode()). */
enum ControlOp : uint16_t {
    kControlResidency = 0x100,  ///< Body RegionRequest: answer only (never faults).
    kControlPull = 0x101,       ///< Body RegionRequest: make it resident, then answer.
    kControlCall = 0x102,       ///< Body CallRequest: run fn(ctx) on the control lcore.
    kControlStats = 0x103,      ///< Reply body ControlStats.
};

/** Body of kControlResidency and kControlPull requests and their replies. */
struct RegionRequest {
    const void *addr;  ///< Set by the sender.
    size_t len;        ///< Set by the sender.
    size_t pulled;     ///< Reply: bytes prefetched (all of len when a pull completes).
    bool resident;     ///< Reply: every page resident when the answer was given.
};

/** Body of kControlCall: the reply's error is fn(ctx). fn may block (it is not a worker). */
struct CallRequest {
    int (*fn)(void *ctx);
    void *ctx;
};

/** The control lcore's counters (also the body of a kControlStats reply). */
struct ControlStats {
    uint64_t residency_checks;  ///< kControlResidency served.
    uint64_t pulls_done;        ///< kControlPull completed.
    uint64_t pulls_cancelled;   ///< kControlPull stopped by an abort or by stop().
    uint64_t pulled_bytes;      ///< Bytes prefetched.
    uint64_t calls;             ///< kControlCall run.
    uint64_t aborts_seen;       ///< Abort commands received.
    uint64_t sleeps;            ///< Idle sleeps (ended by their timeout or by the doorbell).
    uint64_t slept_ns;          ///< Time they really took (sleep + timer slack + scheduling).
};
static_assert(sizeof(ControlStats) <= kPortMessageBodySize);
static_assert(sizeof(RegionRequest) <= kPortMessageBodySize);

struct ControlConfig {
    /** Answers residency questions and pulls; nullptr: such requests fail -EOPNOTSUPP. */
    const homa::mem::ResidencyChain *residency = nullptr;
    unsigned port_capacity = 1024;   ///< Requests waiting at once (send_msg -ENOBUFS beyond).
    unsigned max_pulls = 256;        ///< Pulls in progress at once (beyond: reply -EBUSY).
    size_t pull_chunk = 256 * 1024;  ///< Bytes prefetched per loop iteration.
    /**
     * Pull in turns: before each chunk of a pull the control lcore waits (asleep on its
     * doorbell) until a worker hands it a turn with share_core(), or until turn_wait_ns has
     * passed since its last chunk. For a control lcore on the same core as a busy-polling
     * worker: the worker gives turns only when it has nothing to do, so a pull takes the core
     * one chunk at a time, in the worker's idle time, instead of for a scheduler slice
     * (milliseconds: the worker's echo tail) whenever the scheduler lets it in. The worker
     * must call share_core() from its idle polls; turn_wait_ns bounds the wait when it never
     * idles (the pull then advances a chunk per turn_wait_ns, or slower). Also set backoff's
     * spin_polls and yield_polls to 0 there: spinning or yielding on a shared core takes the
     * worker's time.
     */
    bool pull_turns = false;
    uint64_t turn_wait_ns = 2'000'000;
    /**
     * Idle backoff. Sleeps may be long because send() and abort() ring the doorbell; the cap
     * bounds the wake-up for requests that do not (do_msg() or send_msg() on port()).
     */
    BackoffConfig backoff = {2000, 200, 50000, 5000000};
    /**
     * If not 0, the control lcore's thread runs SCHED_FIFO at this priority (needs
     * CAP_SYS_NICE; refused otherwise, see sched_result()). Only then does a woken control
     * lcore preempt a busy-polling worker on its core at once: a SCHED_OTHER wake-up waits
     * for the worker's slice to run out (milliseconds; bench_msgport measures both; asking
     * for a short SCHED_OTHER slice with sched_setattr, Linux 6.12+, did not help on 6.18).
     * The cost: while the control lcore works (a pull that faults pages in) the worker waits.
     */
    int realtime_priority = 0;
    /**
     * The control lcore's own timetrace ring (timetrace.h; create it with the host's
     * TraceFreeze so that a freeze stops it with the workers'): residency checks, pulls and
     * their chunks, calls, aborts. Borrowed, must outlive the control lcore; nullptr: none.
     */
    Timetrace *timetrace = nullptr;
};

class ControlLcore {
  public:
    /**
     * Creates the control lcore's state and its request port ("<name>", multi-producer).
     * Any thread, at set-up. Returns nullptr with rte_errno: EINVAL (max_pulls or pull_chunk
     * 0, name too long), ENOMEM, or the port's creation error.
     */
    static ControlLcore *create(const char *name, const ControlConfig &config, int socket_id);

    /** Frees it; it must not be running (stop() first). nullptr is ignored. */
    static void destroy(ControlLcore *ctl);

    /** Where requests go. Any thread may send to it. */
    MessagePort &port() noexcept { return *port_; }

    /**
     * send_msg(port(), msg), then wakes the control lcore if it sleeps (one futex call, only
     * then). Any thread. Returns what send_msg() returns (0, -ENOBUFS, -EBUSY, -EINVAL).
     */
    int send(PortMessage *msg) noexcept {
        int rc = send_msg(*port_, msg);
        if (rc == 0) bell_.ring();
        return rc;
    }

    /**
     * do_msg(port(), msg, timeout_ns), ringing the doorbell: for threads that may block.
     * Returns what do_msg() returns (the request's error, -ENOBUFS, -EBUSY, -ETIMEDOUT).
     */
    int call(PortMessage *msg, uint64_t timeout_ns) noexcept {
        return do_msg(*port_, msg, timeout_ns, &bell_);
    }

    /**
     * abort_msg(msg) for a request sent here, then wakes the control lcore if it sleeps.
     * The sender only. Returns what abort_msg() returns (0, -EPERM, -EALREADY).
     */
    int abort(PortMessage *msg) noexcept {
        int rc = abort_msg(msg);
        if (rc == 0) bell_.ring();
        return rc;
    }

    /** Wakes the control lcore if it sleeps (after a send_msg() on port()). Any thread. */
    void kick() noexcept { bell_.ring(); }

    /**
     * For a worker on the control lcore's core, in a poll that found no work: if a pull is in
     * progress (and config.pull_turns), gives the control lcore a turn (one chunk) and yields
     * the core to it (sched_yield: the worker runs again once the chunk is done or the control
     * lcore sleeps). Returns true if it yielded; false at once (no system call) when there is
     * nothing to pull. The worker's lcore; any number of workers may call it.
     */
    bool share_core() noexcept;

    /** Turns given by share_core() and turns taken by a chunk (approximate while running). */
    uint64_t turns_given() const noexcept { return turns_given_.load(std::memory_order_relaxed); }
    uint64_t turns_taken() const noexcept { return turns_taken_.load(std::memory_order_relaxed); }

    /** True while the control lcore sleeps on its doorbell. Any thread (a snapshot). */
    bool asleep() const noexcept { return bell_.asleep(); }

    /**
     * Runs the service loop on EAL lcore `lcore_id` (rte_eal_remote_launch). Main lcore only.
     * Returns 0, -EBUSY (already running, or the lcore is busy), -EINVAL (not a worker lcore).
     */
    int launch(unsigned lcore_id);

    /**
     * Stops the loop and waits for its lcore. Pulls in progress are replied -ECANCELED and
     * requests still queued -ESHUTDOWN, so every message goes home; senders must have stopped
     * sending. Main lcore only. Returns 0, or -EINVAL if it was not launched.
     */
    int stop();

    /**
     * One iteration of the service loop (receive a burst, serve it, advance the oldest pull
     * by one chunk). Returns true if it did anything. For running the service inside another
     * loop (a single-lcore app, tests); only on one thread at a time, and not while launched.
     */
    bool poll() noexcept;

    /** True from the moment stop() is called until the next launch(). Any thread. */
    bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }

    /**
     * 0 if the scheduler accepted realtime_priority (or none was asked), else -errno (EPERM
     * without CAP_SYS_NICE). Set when the loop starts.
     */
    int sched_result() const noexcept { return sched_result_.load(); }

    /** A snapshot of the counters. Any thread (approximate while running). */
    ControlStats stats() const noexcept;

  private:
    ControlLcore() = default;
    static int main_loop(void *arg);
    bool serve_port() noexcept;
    bool may_pull() noexcept;
    void wait_turn() noexcept;
    void serve(PortMessage *msg) noexcept;
    void on_abort(PortMessage *msg) noexcept;
    bool advance_pull() noexcept;
    void shutdown() noexcept;

    MessagePort *port_ = nullptr;
    ControlConfig config_{};
    PortMessage **pulls_ = nullptr;  ///< In progress, oldest first.
    unsigned num_pulls_ = 0;
    /** num_pulls_ != 0, for share_core() on other threads. */
    std::atomic<bool> pulling_{false};
    /** A worker's share_core() gave a turn that no chunk has taken yet. */
    std::atomic<bool> turn_{false};
    uint64_t last_chunk_tsc_ = 0;  ///< When the last chunk was pulled (pull_turns).
    uint64_t turn_wait_tsc_ = 0;   ///< turn_wait_ns in TSC ticks.
    std::atomic<uint64_t> turns_given_{0}, turns_taken_{0};
    unsigned lcore_ = ~0u;
    std::atomic<bool> stop_{false};
    Doorbell bell_;
    std::atomic<int> sched_result_{0};
    // Written by the control lcore only; atomics so that stats() may read them anywhere.
    struct Counters {
        std::atomic<uint64_t> residency_checks{0}, pulls_done{0}, pulls_cancelled{0},
            pulled_bytes{0}, calls{0}, aborts_seen{0}, sleeps{0}, slept_ns{0};
    };
    alignas(64) Counters counters_;
};

/**
 * Request builders. Each prepares an owned message (kMsgDone set) whose reply goes to
 * `reply_port`; send it with ctl->send(msg), or ctl->call(msg, timeout) from a thread that may
 * block. (send_msg()/do_msg() straight on ctl->port() do not ring the doorbell: a sleeping
 * control lcore then answers within backoff.max_sleep_ns.) Every request is abortable, so a worker
 * can abort whatever it has in flight for a dying RPC: an aborted pull still in progress comes back
 * -ECANCELED with resident false; a request already answered comes back with its answer. Any
 * thread.
 */
/// Is [addr, addr + len) resident? Never faults on the control lcore either.
void prepare_residency_check(PortMessage *msg, MessagePort *reply_port, const void *addr,
                             size_t len);
/// Make [addr, addr + len) resident, then answer.
void prepare_pull(PortMessage *msg, MessagePort *reply_port, const void *addr, size_t len);
/// Run fn(ctx) on the control lcore; the reply's error is its result.
void prepare_call(PortMessage *msg, MessagePort *reply_port, int (*fn)(void *ctx), void *ctx);
/// A snapshot of the control lcore's counters (reply body ControlStats).
void prepare_stats(PortMessage *msg, MessagePort *reply_port);

}  // namespace homa::dp
