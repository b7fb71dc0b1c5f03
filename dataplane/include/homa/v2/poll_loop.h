/**
 * @file
 * One loop on one EAL lcore that polls every worker of several hosts in turn: what
 * Host::launch (one lcore per worker, per host) cannot express. The case it is for: two hosts
 * of one process that talk to each other (over a net_ring pair), served by one spare lcore,
 * while application threads use their sockets (Host::open_app) through message ports.
 *
 * @code
 *   homa::v2::Host *both[] = {&client_host, &server_host};
 *   auto loop = homa::v2::PollLoop::launch(both);     // on the first free worker lcore
 *   if (!loop) return homa::v2::report(loop);
 *   auto sock = client_host.open_app(0, 0);           // this thread's socket
 *   ...
 *   loop->stop();                                     // or let ~PollLoop stop and wait
 *   loop->wait();
 * @endcode
 *
 * Ownership: the PollLoop borrows the hosts; it must be stopped and waited for (or destroyed)
 * before any of them is destroyed or drained (declare it after them). While it runs, the hosts
 * refuse run() and launch() (-EBUSY), and nothing else may poll their workers: poll(),
 * drain() and run-to-completion sockets are off limits, open_app sockets are what it serves.
 * Threading: launch, wait and destruction on the thread that created the hosts (EAL's main
 * lcore); stop from any thread. Errors: negative errnos with a message (Result).
 */
#pragma once

#include <memory>
#include <span>

#include "homa/v2/host.h"
#include "homa/v2/result.h"

namespace homa::v2 {

class PollLoop {
  public:
    /// launch(): the first EAL worker lcore (not the main one) that is not running anything.
    static constexpr unsigned kAnyLcore = ~0u;

    /**
     * Starts the loop on `lcore`: it polls worker 0, 1, ... of hosts[0], then of hosts[1], ...,
     * round after round, until stop(). Returns the running loop, or -EINVAL (no hosts, a null
     * one, the same host twice, `lcore` is not an EAL worker lcore), -EBUSY (the lcore is
     * running something, none is free, or a host runs loops already: run, launch, another
     * PollLoop). Nothing runs on failure.
     */
    static Result<PollLoop> launch(std::span<Host *const> hosts, unsigned lcore = kAnyLcore);

    PollLoop(PollLoop &&) noexcept;
    PollLoop &operator=(PollLoop &&) noexcept;
    /** stop(), then wait(). */
    ~PollLoop();

    /** Asks the loop to end after its current round. Any thread; idempotent. */
    void stop() noexcept;
    /** Waits until the loop has ended (after stop()) and gives the hosts back (run, launch,
     *  poll and drain are theirs again). At once if it has ended already. */
    void wait();
    /** The EAL lcore the loop runs (or ran) on. */
    unsigned lcore() const noexcept;

    struct State;

  private:
    explicit PollLoop(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;  // on the heap: the lcore holds a pointer to it
};

}  // namespace homa::v2
