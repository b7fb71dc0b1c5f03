/**
 * @file
 * The encapsulation around a Homa header: Ethernet II (optionally 802.1Q tagged) and IPv4.
 *
 * proto/ owns these definitions (rather than using rte_ether.h / rte_ip.h) so that it stays
 * free of DPDK; dataplane/ checks in its tests that they agree with DPDK's.
 *
 * Threading: plain data and pure functions. Errors: none.
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "homa/proto/byte_order.h"

namespace homa::wire {

using MacAddr = std::array<uint8_t, 6>;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeArp = 0x0806;

struct [[gnu::packed]] EthernetHeader {
    uint8_t dst[6];
    uint8_t src[6];
    Be<uint16_t> ether_type;
};
static_assert(sizeof(EthernetHeader) == 14);
static_assert(offsetof(EthernetHeader, ether_type) == 12);

/** The 4 bytes an 802.1Q tag adds after the source MAC (TCI, then the inner EtherType). */
struct [[gnu::packed]] VlanTag {
    Be<uint16_t> tci;  ///< PCP (3 bits) | DEI (1) | VLAN id (12).
    Be<uint16_t> ether_type;
};
static_assert(sizeof(VlanTag) == 4);

struct [[gnu::packed]] Ipv4Header {
    uint8_t version_ihl;  ///< 0x45 without options.
    uint8_t tos;          ///< Homa priority << 5.
    Be<uint16_t> total_length;
    Be<uint16_t> id;
    Be<uint16_t> frag_off;  ///< Flags (DF = 0x4000, MF = 0x2000) and fragment offset.
    uint8_t ttl;
    uint8_t protocol;
    Be<uint16_t> checksum;
    Be<uint32_t> src;
    Be<uint32_t> dst;
};
static_assert(sizeof(Ipv4Header) == 20);
static_assert(offsetof(Ipv4Header, total_length) == 2);
static_assert(offsetof(Ipv4Header, frag_off) == 6);
static_assert(offsetof(Ipv4Header, protocol) == 9);
static_assert(offsetof(Ipv4Header, checksum) == 10);
static_assert(offsetof(Ipv4Header, src) == 12);
static_assert(offsetof(Ipv4Header, dst) == 16);

inline constexpr uint16_t kIpv4DontFragment = 0x4000;
inline constexpr uint16_t kIpv4MoreFragments = 0x2000;
inline constexpr uint16_t kIpv4FragOffsetMask = 0x1FFF;
inline constexpr uint8_t kDefaultTtl = 64;

/** Where a frame goes and at which priority. IPv4 addresses are host-order integers. */
struct FrameAddr {
    MacAddr src_mac{};
    MacAddr dst_mac{};
    uint32_t src_ip = 0;
    uint32_t dst_ip = 0;
    uint8_t priority = 0;   ///< 0..7; written to TOS (and to the VLAN PCP when tagged).
    uint16_t vlan_id = 0;   ///< 0 = untagged; 1..4094 adds an 802.1Q tag.
    uint16_t ip_id = 0;     ///< IPv4 identification field.
};

/** Bytes of Ethernet (+ VLAN) + IPv4 headers for an address. */
constexpr size_t l2l3_size(const FrameAddr &addr) noexcept {
    return sizeof(EthernetHeader) + (addr.vlan_id ? sizeof(VlanTag) : 0) + sizeof(Ipv4Header);
}

/**
 * Internet checksum (RFC 1071) of `bytes`, folded and complemented, in host order: the
 * value to store in Ipv4Header::checksum via Be::set. Over a header whose checksum field
 * is correct the result is 0.
 */
uint16_t internet_checksum(std::span<const uint8_t> bytes) noexcept;

}  // namespace homa::wire
