// homa-perf's open loop against a driver whose every poll takes a fixed time: an arrival that
// comes due while a poll runs must be sent as soon as that poll returns. Reading the clock
// before the poll left it for one more poll, and each short RPC's latency from its scheduled
// arrival carried a whole extra poll (several microseconds at a loaded host, docs/perf.md).
#include <gtest/gtest.h>
#include <rte_cycles.h>

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "apps/perf/load_driver.h"
#include "apps/perf/phase.h"
#include "tests/dataplane/eal_environment.h"

namespace homa::perf {
namespace {

// Every poll spins for `poll_ns`; a request sent between two polls is answered by the next one.
class SlowPollDriver final : public LoadDriver {
  public:
    explicit SlowPollDriver(uint64_t poll_ns)
        : poll_cycles_(poll_ns * rte_get_tsc_hz() / 1'000'000'000) {}
    bool poll() override {
        poll_starts_.push_back(rte_rdtsc());
        const uint64_t end = poll_starts_.back() + poll_cycles_;
        while (rte_rdtsc() < end) {}
        for (const Completed &c : sent_) done_.push_back(c);
        sent_.clear();
        return true;
    }
    int send(uint32_t length, uint64_t cookie) override {
        sends_.push_back(rte_rdtsc());
        sent_.push_back({cookie, 0, length, true});
        return 0;
    }
    bool next_response(Completed *out, bool) override {
        if (done_.empty()) return false;
        *out = done_.front();
        done_.pop_front();
        return true;
    }
    void abort_all() override {}
    uint64_t packets() override { return 0; }
    const ServerStats *server_stats() const override { return nullptr; }
    /** TSC at the start of every poll, and of every send, in order. */
    const std::vector<uint64_t> &poll_starts() const { return poll_starts_; }
    const std::vector<uint64_t> &sends() const { return sends_; }

  private:
    uint64_t poll_cycles_;
    std::deque<Completed> sent_, done_;
    std::vector<uint64_t> poll_starts_, sends_;
};

TEST(OpenLoop, AnArrivalThatCameDueDuringAPollIsSentWhenThatPollReturns) {
    constexpr uint64_t kPollNs = 100'000;
    SlowPollDriver driver(kPollNs);
    PhaseSpec spec;
    spec.name = "slow polls";
    std::string err;
    ASSERT_TRUE(Workload::parse("100", "", &spec.workload, &err)) << err;
    // About one arrival in 10 polls, so that arrivals rarely share a poll.
    spec.schedule = {{0.3, 1000}};
    spec.outstanding = 1024;
    spec.drain_s = 0.1;
    ArrivalLog log;
    log.arrivals.reserve(2000);
    spec.log = &log;
    std::atomic<bool> quit{false};
    PhaseResult r = run_open_loop(driver, spec, quit);
    ASSERT_GT(r.rpcs, 150u);
    EXPECT_EQ(r.unfinished, 0u);
    // Arrivals are sent in order. Counted in polls, not in time (a preempted test stretches
    // time, not the count): no poll may start between an arrival's scheduled time and its
    // send.
    const auto &polls = driver.poll_starts();
    const auto &sends = driver.sends();
    ASSERT_EQ(sends.size(), log.arrivals.size());
    ASSERT_FALSE(polls.empty());
    const double cycles_per_ns = double(rte_get_tsc_hz()) / 1e9;
    size_t waited = 0;
    for (size_t i = 0; i < sends.size(); ++i) {
        const auto due =
            log.start_tsc + uint64_t(double(log.arrivals[i].scheduled_ns) * cycles_per_ns);
        auto first = std::upper_bound(polls.begin(), polls.end(), due);
        if (first != polls.end() && *first < sends[i]) ++waited;
    }
    // Only an arrival that came due in the instant between the loop's clock read and its next
    // poll waits for that poll: a few in a thousand, more if the test is preempted there.
    EXPECT_LT(waited * 10, sends.size())
        << waited << " of " << sends.size() << " arrivals waited for a poll that began after them";
}

}  // namespace
}  // namespace homa::perf

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("openloop", 64));
    return RUN_ALL_TESTS();
}
