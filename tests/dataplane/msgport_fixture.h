// The message-port tests' fixture: ports named uniquely per test (ring names are
// process-wide), freed at the end. Shared by msgport_test.cc and msgport_abort_test.cc (one
// binary, one EAL).
#pragma once

#include <gtest/gtest.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include <string>
#include <vector>

#include "homa/dataplane/msgport.h"

namespace homa::dp::test {

constexpr uint64_t kSecond = 1000000000;

struct Seq {
    uint32_t value;
};

// Ports named uniquely per test (ring names are process-wide) and freed at the end.
class MsgPortTest : public ::testing::Test {
  protected:
    MessagePort *make(unsigned capacity, MessagePortMode mode = MessagePortMode::kSingleProducer) {
        static int serial = 0;
        std::string name = "mp" + std::to_string(serial++);
        MessagePort *p = MessagePort::create(name.c_str(), capacity, mode, SOCKET_ID_ANY);
        EXPECT_NE(p, nullptr) << rte_strerror(rte_errno);
        ports_.push_back(p);
        return p;
    }
    void TearDown() override {
        for (MessagePort *p : ports_) MessagePort::destroy(p);
    }
    // Everything one receive_burst() hands out.
    static std::vector<PortMessage *> drain(MessagePort *p) {
        PortMessage *got[kMessagePortBurst];
        unsigned n = p->receive_burst(got, kMessagePortBurst);
        return {got, got + n};
    }
    std::vector<MessagePort *> ports_;
};

}  // namespace homa::dp::test
