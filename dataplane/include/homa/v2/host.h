/**
 * @file
 * A homa-dp host in one object: brings up EAL (when given its arguments), the port, the pool
 * and the workers; opens sockets (a server port on every worker in one call, since steering
 * may hand a request to any of them); runs the worker loop; and drains when destroyed.
 *
 * @code
 *   // prog <EAL args> -- --local=10.0.0.1 [--workers=N --port=P --pool_mb=M] [app args]
 *   auto host = homa::v2::Host::create(argc, argv);
 *   if (!host) return homa::v2::report(host);
 *   auto socks = host->listen(99);                        // one socket per worker
 *   host->run([&](unsigned w) {                           // worker w's loop, on its lcore
 *       if (auto req = (*socks)[w].recv(homa::v2::kRecvRequest | homa::v2::kRecvNonblocking))
 *           (void)req->reply_self();
 *       return true;                                      // false: this worker stops
 *   });
 * @endcode
 *
 * Beyond the basic options, HostOptions carries everything a dataplane application sets
 * (the launcher and homa-perf are built on it): the workers' full configuration (engine
 * knobs, static neighbours, VLAN, fault injection, timetrace, stage cycles; `worker`), the
 * port's (`port`), per-worker changes (`configure_worker`) and locking the process's memory
 * (`lock_memory`). What the Host does not own is built on raw(): a control lcore, socket
 * services with one (the file service), telemetry; destroy those before the Host.
 *
 * Ownership: the Host owns the dp::Host (port, pool, workers); sockets it opened must be
 * destroyed first (declare them after it). A Host that brought EAL up (eal_args) also cleans
 * EAL up when destroyed, and EAL cannot come up twice in a process: further Hosts beside it
 * pass no EAL arguments, and none can follow it.
 * Threading: create, open, listen, poll, run, launch, wait, drain and destruction on the thread
 * that called create: EAL's main lcore, or for a further Host (no eal_args) any thread EAL
 * knows (the C ABI registers a plain one); open_app on the application thread that will use
 * the socket. Inside run and launch, worker w's callback runs on worker w's lcore and may use only
 * worker w's sockets. One lcore polling the workers of several hosts (two hosts of a process
 * over a net_ring pair, served for application threads) is a PollLoop (homa/v2/poll_loop.h).
 * Errors: negative errnos with a message (Result), listed per call.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "homa/dataplane/host.h"
#include "homa/dataplane/memory_lock.h"
#include "homa/v2/result.h"

namespace homa::dp {
class SocketService;
}
#include "homa/v2/socket.h"
#include "homa/v2/socket_address.h"

namespace homa::v2 {

struct HostOptions {
    /// EAL arguments (without the program name). Non-empty: create() brings EAL up with
    /// them; empty: EAL must already be up.
    std::vector<std::string> eal_args;
    /// This host's address, IPv4 or IPv6 (its port is ignored). Required.
    SocketAddress local;
    /// A second, IPv6 address for a host on both families (local is then its IPv4 one);
    /// empty for a single-family host. Sockets answer on both; local_addr() is `local`.
    SocketAddress local_ipv6;
    uint16_t port_id = 0;    ///< DPDK port (e.g. the first --vdev is 0).
    uint16_t workers = 1;    ///< Worker lcores; run() needs as many EAL lcores.
    unsigned pool_mb = 64;   ///< Bpage pool for received and copied messages.
    uint32_t mbufs = 16383;  ///< Mbuf pool.
    std::string name;        ///< DPDK object names (unique per process); "" = "homa<port_id>".
    /// Application threads that will open sockets with open_app (each gets a cache in the
    /// pool); non-zero also gives every worker a command port (dp::SocketService).
    unsigned app_threads = 0;
    /// What every open_app socket gets: received messages held ahead of recv() (and the
    /// worker's answer ring, as large), sends and replies queued at once (the request ring),
    /// the command timeout. open_app sets pool_cache and trace itself; a value open() refuses
    /// (0, or above 4096) fails open_app with -EINVAL.
    dp::RemoteSocketConfig app_socket;
    /// How long create() waits for the port's link to come up (memif: the peer process
    /// connected), so that the first frames are not sent into a link that drops them. A link
    /// still down then is not an error: it may come up later. 0: do not wait (a server whose
    /// clients connect when they please).
    unsigned link_wait_ms = 5000;
    /// The engines' pacer assumes the link speed the port reports (read once, after the link
    /// wait) instead of worker.engine.link_mbps, which stays when the port reports none (a
    /// NIC whose link is still down, a PMD that gives no speed). Off by default because a
    /// virtual port's speed is nominal, not what its peer drains: net_null, net_ring and tap
    /// say 10 Gbps, memif 100 Gbps, while a memif peer on this machine (one core, which also
    /// sends) takes in about 20-35 Gbps of payload (docs/perf.md, "The pacer's link speed").
    /// For a NIC, its speed is what the pacer should assume.
    bool pace_at_link_speed = false;

    /// Every worker's configuration beyond the fields above, as the dataplane takes it
    /// (homa/dataplane/worker.h): engine knobs (worker.engine), static neighbours (neighbours,
    /// neighbours6), netmask and gateway, VLAN, fault injection, timetrace ring size, stage
    /// cycle counting, zero-copy send slots, burst sizes. create() overwrites the addresses
    /// (from local and local_ipv6) and what it sets per worker (port, queue, pools, MAC,
    /// steering, index, RPC id space), and rejects engine knobs that EngineConfig::validate
    /// refuses (-EINVAL, naming the knob).
    dp::WorkerConfig worker;
    /// The port's setup beyond what create() fills in (port id, queues, mbuf pool, MTU and VLAN
    /// from `worker`, IPv6 multicast groups): descriptor counts, promiscuity, link watching.
    dp::PortSetup port;
    /// Per-worker changes: called for each worker w in order, inside create() on the calling
    /// thread, with w's configuration as create() will pass it (the template plus w's own
    /// fields); may change anything but what ties w to the host (port, queue, pools, steering,
    /// index, id space). Returns 0, or a negative errno that fails create() with
    /// "worker w: " + *why. Empty: every worker runs the template.
    std::function<int(uint16_t w, dp::WorkerConfig &config, std::string *why)> configure_worker;
    /// Lock the process's memory against paging (homa/dataplane/memory_lock.h), right after EAL
    /// is up and before the pools exist: kOff (default) never, kAuto when the process may lock
    /// without limit, kOn or fail create() with lock_memory's error and message. What was done
    /// is in Host::memory_lock().
    dp::MemoryLockMode lock_memory = dp::MemoryLockMode::kOff;
};

/** A host's own addresses as a command line gives them (`--local=...`). */
struct LocalAddresses {
    SocketAddress ipv4;  ///< Port 0; the empty address when the host has no IPv4 one.
    SocketAddress ipv6;  ///< Port 0; the empty address when the host has no IPv6 one.
};

/** Parses a host's addresses: "a.b.c.d", an IPv6 address ("fd00::1", also "[fd00::1]"), or one
 *  of each separated by a comma, in either order. -EINVAL (message says why) for anything
 *  else: malformed, a family twice, more than two, 0.0.0.0, "::" or a multicast address.
 *  Any thread. */
Result<LocalAddresses> parse_local_addresses(std::string_view text);
/** HostOptions::local and local_ipv6 from parsed addresses (IPv4 first when both). */
void set_local(const LocalAddresses &addresses, HostOptions *options);

/** What run() and launch() do each turn of worker w's loop. */
enum class Loop : uint8_t {
    kPollThenCall,  ///< Worker w polls, then fn(w) runs: the usual server or client loop.
    kCallOnly,      ///< Only fn(w) runs; it polls with poll(w) when it wants to (e.g. an
                    ///< application that can pause a worker yet keep serving its commands).
};

class Host {
  public:
    /** Brings the host up. Returns -EINVAL (no local address, 0 workers, ...), -EALREADY
     *  (eal_args given but EAL is already up), -ENODEV (no such port), or the reason EAL,
     *  the port, the pool or a worker failed (message names the step). */
    static Result<Host> create(const HostOptions &options);
    /** The same from a command line: EAL arguments, then `--`, then `--local=ADDR` (IPv4
     *  `a.b.c.d`, IPv6 `fd00::1`, or both: `a.b.c.d,fd00::1`), `--workers=N`, `--port=P`,
     * `--pool_mb=M`, `--mbufs=N`, `--pace_at_link_speed` (any order); every other argument
     * after `--` is left for the application in args(). -EINVAL names a bad flag. */
    static Result<Host> create(int argc, char **argv);

    Host(Host &&) noexcept;
    Host &operator=(Host &&) noexcept;
    /** wait() for launched loops, drain(), then tears the host down (and EAL, if this Host
     *  brought it up). */
    ~Host();

    /** A run-to-completion socket on worker `worker` (port 0: a client port). -EINVAL (port >=
     * 0x8000, no such worker), -EADDRINUSE, -EMFILE. */
    Result<Socket> open(uint16_t port = 0, uint16_t worker = 0);
    /**
     * A socket for application thread `app_thread` (0 .. HostOptions::app_threads - 1), used
     * from that thread only; call it there, while worker `worker` is being polled (run() on
     * other lcores, or poll() on another thread): opening waits for the worker's answer. A
     * thread that is not an EAL lcore is registered with EAL (rte_thread_register) first.
     * -EINVAL (no such thread slot or worker, port >= 0x8000), -ETIMEDOUT (the worker is not
     * polled), -EADDRINUSE, -EMFILE, -ENOMEM, or EAL's error registering the thread.
     * Threading: the application thread itself, unlike the other calls here.
     */
    Result<Socket> open_app(uint16_t port, unsigned app_thread, uint16_t worker = 0);
    /** Server port `port` (1..0x7fff) on every worker: element w is worker w's. Errors as open
     *  (nothing stays open on error). */
    Result<std::vector<Socket>> listen(uint16_t port);
    /** One iteration of every worker's loop, on the calling thread (single-threaded use:
     *  the sockets are then usable from this thread). True if any worker did work. */
    bool poll();
    /** One iteration of worker `worker`'s loop (no bounds check: < num_workers()), on the
     *  thread that drives that worker: inside fn of a Loop::kCallOnly loop, or after its loop
     *  stopped. True if it did work. */
    bool poll(uint16_t worker) { return raw().worker(worker).poll(); }
    /**
     * Runs every worker's loop: worker w polls, then calls fn(w), on its own lcore (worker 0
     * on the calling one), until fn returns false. Returns 0 when all have stopped, or
     * -EINVAL (fewer EAL lcores than workers: give EAL e.g. `-l 0-N`), -EBUSY (an lcore is
     * busy, loops are launched, or a PollLoop polls this host).
     */
    [[nodiscard]] int run(const std::function<bool(unsigned worker)> &fn,
                          Loop loop = Loop::kPollThenCall);
    /**
     * Like run(), but every worker's loop runs on an EAL worker lcore (worker w on the w-th
     * one after the main lcore), and launch returns at once, leaving the calling thread free
     * (a prompt, statistics, telemetry). `fn` is kept by the Host until wait(). Returns 0, or
     * -EINVAL (fewer EAL worker lcores than workers: give EAL e.g. `-l 0-N`, N workers), -EBUSY
     * (an lcore is busy, loops are launched already, or a PollLoop polls this host; nothing
     * was launched).
     */
    [[nodiscard]] int launch(std::function<bool(unsigned worker)> fn,
                             Loop loop = Loop::kPollThenCall);
    /** Waits until every launched loop has stopped (its fn returned false); at once if none
     *  runs. The destructor calls it: make fn return false first, or it waits for good. */
    void wait();
    /** The EAL lcore that runs (or last ran) worker w's launched loop; RTE_MAX_LCORE if
     *  none was launched. */
    unsigned lcore(uint16_t worker) const noexcept;
    /** Polls until no worker has a send in flight (replies acknowledged, zero-copy memory
     *  back) or `timeout_ns` passes: 0 or -ETIMEDOUT. */
    [[nodiscard]] int drain(uint64_t timeout_ns = 1'000'000'000);
    /** drain() for hosts that answer each other's RPCs (two hosts in one process, e.g. over a
     *  net_ring pair): polls all their workers in turn, since one host's sends complete only
     *  when the other's acknowledgements arrive. 0 or -ETIMEDOUT. None of them may have loops
     *  running; the calling thread polls them all. */
    [[nodiscard]] static int drain_together(std::span<Host *const> hosts,
                                            uint64_t timeout_ns = 1'000'000'000);

    uint16_t num_workers() const noexcept;
    SocketAddress local_addr() const noexcept;
    /** Arguments after `--` that were not Host flags (create(argc, argv) only). */
    const std::vector<std::string> &args() const noexcept;
    /** What HostOptions::lock_memory did (its message is one line for the log). */
    const dp::MemoryLockResult &memory_lock() const noexcept;
    /** The link speed the port reported when create() read it (Mbps), 0 if it reported none;
     *  what the pacers use with HostOptions::pace_at_link_speed. */
    uint32_t port_link_mbps() const noexcept;
    /** Worker `worker`'s engine counters (packets and bytes by type, resends, timeouts, ...;
     *  no bounds check: < num_workers()). Written by the lcore that polls the worker; another
     *  thread may read them while it runs (each counter is one aligned word: a read sees an
     *  old or a new value, a set of them is not one instant). Valid while the Host lives. */
    const EngineStats &engine_stats(uint16_t worker) const noexcept;
    /** The v1 host, for what v2 does not wrap (stats, steering, socket services). */
    dp::Host &raw() noexcept;
    /** Worker `worker`'s socket service: what serves application-thread sockets (its
     *  counters: commands, requests taken from and messages written to their rings), or
     *  nullptr without HostOptions::app_threads or for a worker out of range. Valid while the
     *  Host lives; its counters, read from another thread, are approximate. */
    const dp::SocketService *socket_service(uint16_t worker) const noexcept;

    struct Impl;

  private:
    friend class PollLoop;  // marks the hosts it polls (homa/v2/poll_loop.h)
    explicit Host(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/** Prints `message` (or strerror of `code` when empty) to stderr, prefixed "homa: ", and
 *  returns 1: what main() returns on a failure. Any thread. */
int report_error(int code, const std::string &message);
/** report_error() for the first failed one of `results` (a Result of any type); 1. */
template <class... T>
int report(const Result<T> &...results) {
    bool reported = false;
    ((reported = reported || (!results.ok() && report_error(results.error(), results.message()))),
     ...);
    return 1;
}

}  // namespace homa::v2
