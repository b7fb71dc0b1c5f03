/**
 * @file
 * The encapsulation around a Homa header: Ethernet II (optionally 802.1Q tagged), then IPv4
 * or IPv6 (docs/wire.md, "Framing").
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
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;

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

/** An IPv6 address, in network order (as it travels). */
using Ipv6Addr = std::array<uint8_t, 16>;

/**
 * The fixed IPv6 header (RFC 8200 section 3). The first word packs version (4 bits), traffic
 * class (8) and flow label (20); Homa's priority is the top three bits of the traffic class,
 * as Linux sets it (docs/wire.md).
 */
struct [[gnu::packed]] Ipv6Header {
    Be<uint32_t> vtc_flow;        ///< 6 << 28 | traffic class << 20 | flow label.
    Be<uint16_t> payload_length;  ///< Bytes after this header (extension headers included).
    uint8_t next_header;
    uint8_t hop_limit;
    uint8_t src[16];
    uint8_t dst[16];
};
static_assert(sizeof(Ipv6Header) == 40);
static_assert(offsetof(Ipv6Header, payload_length) == 4);
static_assert(offsetof(Ipv6Header, next_header) == 6);
static_assert(offsetof(Ipv6Header, hop_limit) == 7);
static_assert(offsetof(Ipv6Header, src) == 8);
static_assert(offsetof(Ipv6Header, dst) == 24);

inline constexpr uint32_t kIpv6FlowLabelMask = 0xFFFFF;
/** Hop limit of every IPv6 frame we send: Linux's default (net.ipv6.conf.*.hop_limit). */
inline constexpr uint8_t kDefaultHopLimit = 64;

/** First word of an IPv6 header for a Homa priority (0..7) and a flow label (20 bits). */
constexpr uint32_t ipv6_first_word(uint8_t priority, uint32_t flow_label) noexcept {
    return uint32_t{6} << 28 | uint32_t{priority} << 25 | (flow_label & kIpv6FlowLabelMask);
}

/**
 * A per-RPC flow label: both halves of an RPC (ids `id` and `id ^ 1`) get the same non-zero
 * 20-bit value, spread over the label space (RFC 6437 asks for uniformly distributed labels so
 * that switches can hash on them). Pure.
 */
constexpr uint32_t rpc_flow_label(uint64_t rpc_id) noexcept {
    uint64_t h = (rpc_id & ~uint64_t{1}) * 0x9E3779B97F4A7C15ull;
    uint32_t label = static_cast<uint32_t>(h >> 44) & kIpv6FlowLabelMask;
    return label == 0 ? 1 : label;  // 0 means "no label"
}

/** Where a frame goes and at which priority. IPv4 addresses are host-order integers. */
struct FrameAddr {
    MacAddr src_mac{};
    MacAddr dst_mac{};
    uint32_t src_ip = 0;
    uint32_t dst_ip = 0;
    uint8_t priority = 0;  ///< 0..7; written to TOS (and to the VLAN PCP when tagged).
    uint16_t vlan_id = 0;  ///< 0 = untagged; 1..4094 adds an 802.1Q tag.
    uint16_t ip_id = 0;    ///< IPv4 identification field.
};

/** Where an IPv6 frame goes: FrameAddr's counterpart (no IPv4 id; a flow label instead). */
struct FrameAddr6 {
    MacAddr src_mac{};
    MacAddr dst_mac{};
    Ipv6Addr src_ip{};
    Ipv6Addr dst_ip{};
    uint8_t priority = 0;     ///< 0..7; traffic class bits 7..5 (and the VLAN PCP when tagged).
    uint16_t vlan_id = 0;     ///< 0 = untagged; 1..4094 adds an 802.1Q tag.
    uint32_t flow_label = 0;  ///< 0 (none) or e.g. rpc_flow_label(); at most 20 bits.
};

/** Bytes of Ethernet (+ VLAN) + IPv4 headers for an address. */
constexpr size_t l2l3_size(const FrameAddr &addr) noexcept {
    return sizeof(EthernetHeader) + (addr.vlan_id ? sizeof(VlanTag) : 0) + sizeof(Ipv4Header);
}
/** Bytes of Ethernet (+ VLAN) + IPv6 headers (we never send extension headers). */
constexpr size_t l2l3_size(const FrameAddr6 &addr) noexcept {
    return sizeof(EthernetHeader) + (addr.vlan_id ? sizeof(VlanTag) : 0) + sizeof(Ipv6Header);
}

/**
 * Internet checksum (RFC 1071) of `bytes`, folded and complemented, in host order: the
 * value to store in Ipv4Header::checksum via Be::set. Over a header whose checksum field
 * is correct the result is 0.
 */
uint16_t internet_checksum(std::span<const uint8_t> bytes) noexcept;

}  // namespace homa::wire
