// ICMP echo (ping) for the host's own address: the one ICMP message a host must answer so
// that a real network can check it is there. Pure functions over bytes (no DPDK).
//
// Threading: pure. Errors: icmp_echo_reply returns 0 for a frame it does not answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "homa/dataplane/neighbour.h"

namespace homa::dp {

inline constexpr uint8_t kIpProtoIcmp = 1;

/**
 * If `frame` (Ethernet, optional 802.1Q tag, IPv4) is a valid ICMP echo request to
 * `local_ip` (correct IPv4 and ICMP checksums, not a fragment), writes the echo reply into
 * `out` and returns its length; otherwise returns 0. The reply goes back to the request's
 * source MAC from `local_mac`, keeps the VLAN tag and the TOS, drops IP options, and echoes
 * identifier, sequence and data unchanged; its IPv4 id is `ip_id`.
 */
size_t icmp_echo_reply(std::span<const uint8_t> frame, uint32_t local_ip, const MacAddr &local_mac,
                       uint16_t ip_id, std::span<uint8_t> out) noexcept;

}  // namespace homa::dp
