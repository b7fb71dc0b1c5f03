// ARP for Ethernet/IPv4 (RFC 826): parsing a received frame and writing requests and replies.
// Pure functions over bytes (no DPDK), so tests check frames byte by byte.
//
// Threading: pure. Errors: parse_arp returns false for anything that is not an Ethernet/IPv4
// ARP request or reply; build_arp returns 0 when `out` is too small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "homa/dataplane/neighbour.h"

namespace homa::dp {

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;
/** Ethernet's minimum frame without FCS: ARP frames are padded to it, as Linux does. */
inline constexpr size_t kMinFrame = 60;
inline constexpr MacAddr kBroadcastMac = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

/** The fields of an ARP packet that a host uses; addresses in host order. */
struct ArpPacket {
    uint16_t op = 0;
    MacAddr sha{};          ///< Sender hardware address.
    uint32_t spa = 0;       ///< Sender protocol address.
    MacAddr tha{};          ///< Target hardware address.
    uint32_t tpa = 0;       ///< Target protocol address.
    uint16_t vlan_tci = 0;  ///< Tag of the frame (0 = untagged).
};

/** Parses an Ethernet (+802.1Q) frame holding an Ethernet/IPv4 ARP request or reply. */
bool parse_arp(std::span<const uint8_t> frame, ArpPacket *out) noexcept;

/**
 * Writes an ARP frame: Ethernet to `eth_dst` from `arp.sha`, tagged with `vlan_id` (PCP 0)
 * when non-zero, padded with zeros to kMinFrame. Returns the frame length, or 0.
 */
size_t build_arp(std::span<uint8_t> out, const MacAddr &eth_dst, uint16_t vlan_id,
                 const ArpPacket &arp) noexcept;

}  // namespace homa::dp
