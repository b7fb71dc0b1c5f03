// Families of hostile Ethernet/IPv4 (and some IPv6)/Homa frames for the launcher's hostile-pcap
// test (tests/apps/hostile_pcap_test.py), built with proto's public encoders so that every frame
// starts from the real wire format and differs from a valid one only where it means to.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "homa/proto/encode.h"

namespace homa::test {

using Frame = std::vector<uint8_t>;

struct HostileTargets {
    wire::MacAddr server_mac{};  // the launcher's port
    uint32_t server_ip = 0;
    uint16_t server_port = 0;  // a port the launcher echoes on
    wire::MacAddr attacker_mac{};
    uint32_t attacker_ip = 0;    // differs from any legitimate client in several bytes, so a
                                 // random mutation cannot turn an attack into a legitimate frame
    uint32_t spoof_base_ip = 0;  // spoofed sources are spoof_base_ip + 1, + 2, ...
};

class HostileFrames {
  public:
    HostileFrames(const HostileTargets &t, uint64_t seed) : t_(t), rng_(seed) {}

    // A valid frame of every packet type, cut at lengths inside each header: once as it is
    // (the IPv4 total length then overstates the bytes present) and once with the IPv4 header
    // rewritten to the shorter length (so the cut reaches Homa's own length checks).
    std::vector<Frame> truncated();
    // Fields no sender may produce: DATA beyond its message, incoming > message_length,
    // message_length 0 or > the maximum, priorities > 7, too many acks, bad doff, unknown
    // types, foreign VLANs, IPv4 fragments, frames too big for one mbuf, and over IPv6 a valid
    // request (the engine is IPv4 only) and one frame per IPv6 rejection reason.
    std::vector<Frame> impossible();
    // Source or destination port 0 on every packet type (and a complete request from port 0).
    std::vector<Frame> port_zero();
    // `n` valid frames with 1..4 random bytes overwritten; every other one gets its IPv4
    // checksum recomputed so the mutation reaches the Homa decoder.
    std::vector<Frame> mutated(uint32_t n);
    // First DATA packets of `n` 500 KB requests that never continue, each with its own id.
    std::vector<Frame> partial_flood(uint32_t n);
    // `per_type` control packets of every type (RESEND, GRANT, BUSY, NEED_ACK, ACK,
    // RPC_UNKNOWN, CUTOFFS, FREEZE) for random RPC ids and ports.
    std::vector<Frame> control_flood(uint32_t per_type);
    // Complete one-byte requests, each from its own spoofed source address.
    std::vector<Frame> spoofed_flood(uint32_t n);

  private:
    wire::FrameAddr from_attacker(uint32_t src_ip = 0) const;
    wire::Common common(uint16_t sport, uint16_t dport) { return {sport, dport, random_id()}; }
    uint64_t random_id() { return rng_(); }
    uint16_t client_port() {
        return static_cast<uint16_t>(wire::kFirstClientPort + rng_() % 0x7FFF);
    }
    // One valid frame of each type from the attacker (DATA: a complete 1,000-byte request).
    std::vector<Frame> one_of_each_type();

    HostileTargets t_;
    std::mt19937_64 rng_;
};

// A complete request of `length` bytes (at most the unscheduled bytes, so it needs no grant)
// from a legitimate client, split into frames of at most `max_payload` bytes.
std::vector<Frame> legitimate_request(const wire::FrameAddr &addr, uint16_t client_port,
                                      uint16_t server_port, uint64_t id, uint32_t length,
                                      uint32_t max_payload);

// Rewrites the IPv4 total length of an untagged frame to its size and fixes the checksum.
void fix_ipv4_header(Frame &f);

}  // namespace homa::test
