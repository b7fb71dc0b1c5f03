// What the engine tests share: two hosts' addresses, the server's port, and an engine
// configuration whose timer ticks keep simulated runs short.
#pragma once

#include <cstdint>

#include "homa/proto/config.h"

namespace homa::test {

constexpr uint32_t kServerIp = 0x0A000001;
constexpr uint32_t kClientIp = 0x0A000002;
constexpr uint16_t kPort = 99;

inline EngineConfig test_config() {
    EngineConfig c;
    c.tick_ns = 100'000;  // faster ticks keep NEED_ACK rounds short in simulated time
    c.max_rpcs = 4096;
    return c;
}

}  // namespace homa::test
