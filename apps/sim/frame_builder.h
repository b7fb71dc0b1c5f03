// Turns a TxPacket from an engine into the frame a port would put on the wire: Ethernet + IPv4
// (priority in TOS) + the Homa header + the payload pieces, exactly as the dataplane does, so
// that the receiving engine gets it through decode_frame like real traffic. Shared by homa-sim
// and the proto tests' SimNetwork (tests/fakes/sim_network.h).
//
// Threading: pure functions. Ownership: nothing retained; the payload is copied out of the
// sender's OutMessage (whose memory is only borrowed by the engine). Errors: build_frame
// returns 0 if `out` is smaller than frame_capacity(p).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "homa/proto/encode.h"
#include "homa/proto/engine.h"

namespace homa::sim {

/** Bytes that always hold the frame of `p` (64 covers Ethernet + VLAN + IPv4 with room). */
inline size_t frame_capacity(const TxPacket &p) noexcept {
    return 64 + p.header_len + p.payload_len();
}

/** Writes the frame of `p`, sent by `src_ip`, into `out`; returns its length (0: too small). */
inline size_t build_frame(uint32_t src_ip, const TxPacket &p, std::span<uint8_t> out) noexcept {
    if (out.size() < frame_capacity(p)) return 0;
    wire::FrameAddr a;
    a.src_ip = src_ip;
    a.dst_ip = p.dst_ip.ipv4();  // the simulated cluster is IPv4
    a.priority = p.priority;
    size_t n = wire::encode_l2l3(out, a, p.header_len + p.payload_len());
    if (n == 0) return 0;
    std::memcpy(out.data() + n, p.header, p.header_len);
    n += p.header_len;
    for (uint8_t i = 0; i < p.num_payload; ++i) {
        std::memcpy(out.data() + n, p.payload[i].data, p.payload[i].length);
        n += p.payload[i].length;
    }
    return n;
}

}  // namespace homa::sim
