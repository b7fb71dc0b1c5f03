// Frames for the decoder's tests: a valid frame of a type, then the test breaks one thing.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "homa/proto/encode.h"

namespace homa::wire {

inline FrameAddr test_addr() {
    FrameAddr a;
    a.src_mac = {2, 0, 0, 0, 0, 1};
    a.dst_mac = {2, 0, 0, 0, 0, 2};
    a.src_ip = 0xC0A80001;
    a.dst_ip = 0xC0A80002;
    a.priority = 4;
    return a;
}

inline std::vector<uint8_t> frame_of(const auto &fields) {
    std::array<uint8_t, 2048> buf{};
    size_t n = encode(buf, test_addr(), fields);
    EXPECT_GT(n, 0u);
    return {buf.begin(), buf.begin() + n};
}

inline std::vector<uint8_t> data_frame(uint32_t msg_len, uint32_t offset, size_t payload_len,
                                       const FrameAddr &addr = test_addr()) {
    std::vector<uint8_t> payload(payload_len, 0x5A);
    Data d;
    d.common = {.sport = 0x8000, .dport = 1, .sender_id = 2};
    d.message_length = msg_len;
    d.offset = offset;
    std::array<uint8_t, 2048> buf{};
    size_t n = encode(buf, addr, d, payload);
    EXPECT_GT(n, 0u);
    return {buf.begin(), buf.begin() + n};
}

constexpr size_t kIp = 14;         // IPv4 header offset in an untagged frame
constexpr size_t kHoma = 14 + 20;  // Homa header offset

// Recomputes the IPv4 checksum after a test edits the IP header on purpose.
inline void fix_ip_checksum(std::vector<uint8_t> &f) {
    f[kIp + 10] = f[kIp + 11] = 0;
    size_t ihl = (f[kIp] & 0xF) * 4u;
    uint16_t c = internet_checksum({f.data() + kIp, ihl});
    f[kIp + 10] = static_cast<uint8_t>(c >> 8);
    f[kIp + 11] = static_cast<uint8_t>(c);
}

}  // namespace homa::wire
