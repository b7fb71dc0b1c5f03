// Big-endian 16-bit fields of the host frames that arp.cc, icmp.cc and ndp.cc parse and build
// byte by byte (one definition, so that the three may share a unity translation unit).
#pragma once

#include <cstdint>

namespace homa::dp {

inline uint16_t get16(const uint8_t *p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void put16(uint8_t *p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

}  // namespace homa::dp
