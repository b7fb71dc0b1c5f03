// IPv6 Neighbour Discovery (RFC 4861) and ICMPv6 echo (RFC 4443) for Ethernet: parsing
// solicitations and advertisements, writing them, answering pings, and the multicast
// addresses ND needs. Pure functions over bytes (no DPDK), so tests check frames byte by byte
// (and against DPDK's own checksum helpers).
//
// Threading: pure. Errors: parse_nd returns false for anything that is not a valid NS or NA
// (RFC 4861 7.1's checks); the builders return 0 when `out` is too small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "homa/dataplane/neighbour.h"
#include "homa/proto/frame.h"

namespace homa::dp {

using Ipv6Addr = wire::Ipv6Addr;

inline constexpr uint8_t kIpProtoIcmp6 = 58;
inline constexpr uint8_t kNeighbourSolicitation = 135;
inline constexpr uint8_t kNeighbourAdvertisement = 136;
/** ND frames must arrive with hop limit 255: proof that no router forwarded them. */
inline constexpr uint8_t kNdHopLimit = 255;
/** ff02::1, every node on the link. */
inline constexpr Ipv6Addr kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

constexpr bool is_multicast(const Ipv6Addr &a) noexcept { return a[0] == 0xff; }
constexpr bool is_unspecified(const Ipv6Addr &a) noexcept {
    for (uint8_t b : a) {
        if (b != 0) return false;
    }
    return true;
}

/** The solicited-node multicast address of `a`: ff02::1:ff + a's last 24 bits (RFC 4291). */
Ipv6Addr solicited_node(const Ipv6Addr &a) noexcept;

/** Ethernet MAC of an IPv6 multicast group: 33:33 + the group's last 32 bits (RFC 2464). */
MacAddr multicast_mac(const Ipv6Addr &group) noexcept;

/**
 * ICMPv6 checksum of `icmp` (its checksum field included as it stands) over the IPv6
 * pseudo-header (src, dst, length, next header 58): 0 when a received message verifies; the
 * value to store (big-endian) when the field was zeroed first.
 */
uint16_t icmp6_checksum(const Ipv6Addr &src, const Ipv6Addr &dst,
                        std::span<const uint8_t> icmp) noexcept;

/** The fields of an NS or NA that a host uses. */
struct NdPacket {
    uint8_t type = 0;  ///< kNeighbourSolicitation or kNeighbourAdvertisement.
    MacAddr eth_src{};
    uint16_t vlan_tci = 0;  ///< Tag of the frame (0 = untagged).
    Ipv6Addr src{};         ///< IPv6 source (:: for duplicate address detection).
    Ipv6Addr dst{};
    Ipv6Addr target{};
    bool has_lladdr = false;  ///< Source (NS) or target (NA) link-layer address option present.
    MacAddr lladdr{};
    bool solicited = false;  ///< NA: S flag.
    bool override_ = false;  ///< NA: O flag.
};

/** Parses an Ethernet (+802.1Q) frame holding a valid NS or NA without extension headers. */
bool parse_nd(std::span<const uint8_t> frame, NdPacket *out) noexcept;

/**
 * Writes a Neighbour Solicitation for `target` from `src` (our address, MAC `src_mac`) to
 * target's solicited-node group, with our link-layer address option. Tagged with `vlan_id`
 * when non-zero. Returns the frame length (86, or 90 tagged), or 0.
 */
size_t build_ns(std::span<uint8_t> out, const MacAddr &src_mac, uint16_t vlan_id,
                const Ipv6Addr &src, const Ipv6Addr &target) noexcept;

/**
 * Writes a Neighbour Advertisement of `target` (our address, MAC `src_mac`) to `dst` at MAC
 * `dst_mac`, with the Solicited flag as given, Override set, and our link-layer address
 * option. Returns the frame length (86, or 90 tagged), or 0.
 */
size_t build_na(std::span<uint8_t> out, const MacAddr &src_mac, const MacAddr &dst_mac,
                uint16_t vlan_id, const Ipv6Addr &target, const Ipv6Addr &dst,
                bool solicited) noexcept;

/**
 * If `frame` is a valid ICMPv6 echo request to `local_ip` (checksum correct, no extension
 * headers), writes the echo reply into `out` and returns its length; otherwise 0. The reply
 * goes back to the request's source MAC from `local_mac`, keeps the VLAN tag and the traffic
 * class, hop limit 64, and echoes identifier, sequence and data unchanged.
 */
size_t icmp6_echo_reply(std::span<const uint8_t> frame, const Ipv6Addr &local_ip,
                        const MacAddr &local_mac, std::span<uint8_t> out) noexcept;

}  // namespace homa::dp
