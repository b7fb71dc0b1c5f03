// The control lcore tests' fixture, shared by control_lcore_test.cc (requests served one at a
// time) and control_lcore_launched_test.cc (the launched lcore: stop, sleep, doorbell, racing
// aborts, pull turns, end to end). Lcores: main on core 0; worker and control share core 1.
#pragma once

#include <gtest/gtest.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "homa/dataplane/control_lcore.h"
#include "homa/mem/residency.h"

namespace homa::dp::control_test {

inline constexpr uint64_t kSecond = 1000000000;
inline const size_t kPage = static_cast<size_t>(getpagesize());

inline unsigned worker_lcore() { return rte_get_next_lcore(rte_get_main_lcore(), 1, 0); }
inline unsigned control_lcore() { return rte_get_next_lcore(worker_lcore(), 1, 0); }

// Anonymous memory, never touched until a test touches it (so not resident).
struct Anon {
    uint8_t *p = nullptr;
    size_t len;
    explicit Anon(size_t bytes) : len(bytes) {
        void *m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p = m == MAP_FAILED ? nullptr : static_cast<uint8_t *>(m);
    }
    ~Anon() {
        if (p != nullptr) munmap(p, len);
    }
};

class ControlTest : public ::testing::Test {
  protected:
    void SetUp() override {
        static int serial = 0;
        std::string n = std::to_string(serial++);
        reply_ = MessagePort::create(("ctl_reply" + n).c_str(), 64,
                                     MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
        ASSERT_NE(reply_, nullptr);
        config_.residency = &chain_;
        config_.pull_chunk = 64 * 1024;
        name_ = "ctl" + n;
    }
    void TearDown() override {
        if (ctl_ != nullptr) (void)ctl_->stop();  // a failed test may leave it launched
        ControlLcore::destroy(ctl_);
        MessagePort::destroy(reply_);
    }
    void create() {
        ctl_ = ControlLcore::create(name_.c_str(), config_, SOCKET_ID_ANY);
        ASSERT_NE(ctl_, nullptr) << rte_strerror(rte_errno);
    }
    // Steps the (not launched) control service until `m` comes back.
    void poll_until_replied(PortMessage *m) {
        for (int i = 0; i < 100000 && !(m->flags() & kMsgDone); ++i) {
            ctl_->poll();
            PortMessage *got[kMessagePortBurst];
            unsigned n = reply_->receive_burst(got, kMessagePortBurst);
            for (unsigned k = 0; k < n; ++k) ASSERT_EQ(got[k], m);
        }
        ASSERT_TRUE(m->flags() & kMsgDone);
    }

    homa::mem::ResidencyChain chain_;
    ControlConfig config_;
    std::string name_;
    ControlLcore *ctl_ = nullptr;
    MessagePort *reply_ = nullptr;
};

// A control call that records where it ran.
inline int record_lcore(void *ctx) {
    *static_cast<unsigned *>(ctx) = rte_lcore_id();
    return 42;
}

}  // namespace homa::dp::control_test
