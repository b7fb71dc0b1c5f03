// One lcore polling the workers of several hosts; see homa/v2/poll_loop.h.
#include "homa/v2/poll_loop.h"

#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string>
#include <vector>

#include "host_impl.h"

namespace homa::v2 {

struct PollLoop::State {
    // Impl, not Host: a Host may be moved while the loop runs; its state stays put.
    std::vector<Host::Impl *> hosts;
    std::vector<dp::Worker *> workers;  ///< Polled in this order, round after round.
    std::atomic<bool> stop{false};
    unsigned lcore = RTE_MAX_LCORE;
    bool running = false;  ///< Launched and not yet waited for.
};

namespace {

int poll_loop(void *arg) {
    auto &s = *static_cast<PollLoop::State *>(arg);
    while (!s.stop.load(std::memory_order_relaxed)) {
        for (dp::Worker *w : s.workers) w->poll();
    }
    return 0;
}

bool is_worker_lcore(unsigned lcore) {
    return lcore < RTE_MAX_LCORE && rte_lcore_is_enabled(lcore) && lcore != rte_get_main_lcore();
}

}  // namespace

Result<PollLoop> PollLoop::launch(std::span<Host *const> hosts, unsigned lcore) {
    if (hosts.empty()) return Error{-EINVAL, "poll loop: no hosts"};
    auto state = std::make_unique<State>();
    for (Host *h : hosts) {
        if (h == nullptr || !h->impl_) return Error{-EINVAL, "poll loop: a null host"};
        Host::Impl *impl = h->impl_.get();
        if (std::find(state->hosts.begin(), state->hosts.end(), impl) != state->hosts.end()) {
            return Error{-EINVAL,
                         "poll loop: the same host twice (its workers would be polled "
                         "twice a round)"};
        }
        if (impl->running || impl->polled_by_loop) {
            return Error{-EBUSY, "poll loop: a host runs loops already (run, launch, PollLoop)"};
        }
        state->hosts.push_back(impl);
        for (uint16_t w = 0; w < impl->host->num_workers(); ++w) {
            state->workers.push_back(&impl->host->worker(w));
        }
    }
    if (lcore == kAnyLcore) {
        unsigned l;
        RTE_LCORE_FOREACH_WORKER(l) {
            if (rte_eal_get_lcore_state(l) == WAIT) {
                lcore = l;
                break;
            }
        }
        if (lcore == kAnyLcore) {
            return Error{-EBUSY,
                         "poll loop: no free EAL worker lcore (give EAL one more, e.g. "
                         "-l 0,1)"};
        }
    } else if (!is_worker_lcore(lcore)) {
        return Error{-EINVAL,
                     "poll loop: lcore " + std::to_string(lcore) + " is not an EAL worker lcore"};
    }
    state->lcore = lcore;
    if (rte_eal_remote_launch(poll_loop, state.get(), lcore) != 0) {
        return Error{-EBUSY, "poll loop: lcore " + std::to_string(lcore) + " is busy"};
    }
    state->running = true;
    for (Host::Impl *impl : state->hosts) impl->polled_by_loop = true;
    return PollLoop(std::move(state));
}

PollLoop::PollLoop(std::unique_ptr<State> state) : state_(std::move(state)) {}
PollLoop::PollLoop(PollLoop &&) noexcept = default;
PollLoop &PollLoop::operator=(PollLoop &&o) noexcept {
    if (this != &o) {
        PollLoop old(std::move(state_));  // stopped and waited for, as ~PollLoop does
        state_ = std::move(o.state_);
    }
    return *this;
}

PollLoop::~PollLoop() {
    if (!state_) return;
    stop();
    wait();
}

void PollLoop::stop() noexcept {
    if (state_) state_->stop.store(true, std::memory_order_relaxed);
}

void PollLoop::wait() {
    if (!state_ || !state_->running) return;
    rte_eal_wait_lcore(state_->lcore);
    state_->running = false;
    for (Host::Impl *impl : state_->hosts) impl->polled_by_loop = false;
}

unsigned PollLoop::lcore() const noexcept { return state_ ? state_->lcore : RTE_MAX_LCORE; }

}  // namespace homa::v2
