// Neighbour Discovery and ICMPv6 echo; see ndp.h.
#include "ndp.h"

#include <cstring>

#include "be16.h"

namespace homa::dp {
namespace {

constexpr uint8_t kEcho6Request = 128;
constexpr uint8_t kEcho6Reply = 129;
constexpr uint8_t kOptSourceLladdr = 1;
constexpr uint8_t kOptTargetLladdr = 2;
constexpr size_t kIp6 = 40;
constexpr size_t kNdBody = 24;    // type, code, checksum, flags/reserved, target
constexpr size_t kLladdrOpt = 8;  // type, length (in 8-byte units), MAC
constexpr uint8_t kNaSolicited = 0x40;
constexpr uint8_t kNaOverride = 0x20;

// Where the IPv6 header starts (after an optional 802.1Q tag), or 0 if not IPv6.
size_t ipv6_offset(std::span<const uint8_t> frame, uint16_t *tci) {
    if (frame.size() < 14) return 0;
    size_t l2 = 14;
    *tci = 0;
    if (get16(&frame[12]) == wire::kEtherTypeVlan) {
        if (frame.size() < 18) return 0;
        *tci = get16(&frame[14]);
        l2 = 18;
    }
    if (get16(&frame[l2 - 2]) != wire::kEtherTypeIpv6 || frame.size() < l2 + kIp6) return 0;
    return l2;
}

// Ethernet (+ tag) and an IPv6 header carrying ICMPv6; returns the L3 offset.
size_t write_l2l3(uint8_t *p, const MacAddr &dst_mac, const MacAddr &src_mac, uint16_t vlan_id,
                  uint32_t first_word, uint8_t hop_limit, const Ipv6Addr &src, const Ipv6Addr &dst,
                  size_t icmp_len) {
    std::memcpy(p, dst_mac.data(), 6);
    std::memcpy(p + 6, src_mac.data(), 6);
    size_t l2 = 14;
    if (vlan_id) {
        put16(p + 12, wire::kEtherTypeVlan);
        put16(p + 14, vlan_id & 0x0FFF);
        l2 = 18;
    }
    put16(p + l2 - 2, wire::kEtherTypeIpv6);
    uint8_t *ip = p + l2;
    put16(ip, static_cast<uint16_t>(first_word >> 16));
    put16(ip + 2, static_cast<uint16_t>(first_word));
    put16(ip + 4, static_cast<uint16_t>(icmp_len));
    ip[6] = kIpProtoIcmp6;
    ip[7] = hop_limit;
    std::memcpy(ip + 8, src.data(), 16);
    std::memcpy(ip + 24, dst.data(), 16);
    return l2;
}

// Fills the checksum of an ICMPv6 message whose checksum field is zero.
void set_checksum(const Ipv6Addr &src, const Ipv6Addr &dst, uint8_t *icmp, size_t len) {
    put16(icmp + 2, icmp6_checksum(src, dst, {icmp, len}));
}

// NS or NA body with one link-layer address option; returns the ICMPv6 length.
size_t write_nd(uint8_t *icmp, uint8_t type, uint8_t flags, const Ipv6Addr &target, uint8_t opt,
                const MacAddr &mac) {
    std::memset(icmp, 0, kNdBody + kLladdrOpt);
    icmp[0] = type;
    icmp[4] = flags;
    std::memcpy(icmp + 8, target.data(), 16);
    icmp[kNdBody] = opt;
    icmp[kNdBody + 1] = 1;
    std::memcpy(icmp + kNdBody + 2, mac.data(), 6);
    return kNdBody + kLladdrOpt;
}

}  // namespace

Ipv6Addr solicited_node(const Ipv6Addr &a) noexcept {
    Ipv6Addr g = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0};
    g[13] = a[13];
    g[14] = a[14];
    g[15] = a[15];
    return g;
}

MacAddr multicast_mac(const Ipv6Addr &group) noexcept {
    return {0x33, 0x33, group[12], group[13], group[14], group[15]};
}

uint16_t icmp6_checksum(const Ipv6Addr &src, const Ipv6Addr &dst,
                        std::span<const uint8_t> icmp) noexcept {
    uint64_t sum = 0;
    auto add = [&](const uint8_t *p, size_t n) {
        size_t i = 0;
        for (; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
        if (i < n) sum += uint32_t{p[i]} << 8;
    };
    add(src.data(), 16);
    add(dst.data(), 16);
    sum += icmp.size() >> 16;
    sum += icmp.size() & 0xFFFF;
    sum += kIpProtoIcmp6;
    add(icmp.data(), icmp.size());
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xFFFF);
}

bool parse_nd(std::span<const uint8_t> frame, NdPacket *out) noexcept {
    uint16_t tci;
    size_t l2 = ipv6_offset(frame, &tci);
    if (l2 == 0) return false;
    const uint8_t *ip = &frame[l2];
    size_t plen = get16(ip + 4);
    if ((ip[0] >> 4) != 6 || ip[6] != kIpProtoIcmp6 || ip[7] != kNdHopLimit) return false;
    if (plen < kNdBody || frame.size() - l2 - kIp6 < plen) return false;
    const uint8_t *icmp = ip + kIp6;
    uint8_t type = icmp[0];
    if ((type != kNeighbourSolicitation && type != kNeighbourAdvertisement) || icmp[1] != 0) {
        return false;
    }
    NdPacket nd;
    std::memcpy(nd.src.data(), ip + 8, 16);
    std::memcpy(nd.dst.data(), ip + 24, 16);
    if (icmp6_checksum(nd.src, nd.dst, {icmp, plen}) != 0) return false;
    nd.type = type;
    std::memcpy(nd.eth_src.data(), &frame[6], 6);
    nd.vlan_tci = tci;
    std::memcpy(nd.target.data(), icmp + 8, 16);
    if (is_multicast(nd.target)) return false;
    nd.solicited = (icmp[4] & kNaSolicited) != 0;
    nd.override_ = (icmp[4] & kNaOverride) != 0;
    uint8_t want = type == kNeighbourSolicitation ? kOptSourceLladdr : kOptTargetLladdr;
    for (size_t o = kNdBody; o < plen;) {
        if (plen - o < 2 || icmp[o + 1] == 0) return false;  // zero-length options: RFC 4861
        size_t len = size_t{icmp[o + 1]} * 8;
        if (plen - o < len) return false;
        if (icmp[o] == want && len == kLladdrOpt) {
            nd.has_lladdr = true;
            std::memcpy(nd.lladdr.data(), icmp + o + 2, 6);
        }
        o += len;
    }
    if (type == kNeighbourSolicitation && is_unspecified(nd.src)) {
        // Duplicate address detection: to a solicited-node group and without our address.
        if (nd.has_lladdr || nd.dst != solicited_node(nd.target)) return false;
    }
    if (type == kNeighbourAdvertisement && is_multicast(nd.dst) && nd.solicited) return false;
    *out = nd;
    return true;
}

size_t build_ns(std::span<uint8_t> out, const MacAddr &src_mac, uint16_t vlan_id,
                const Ipv6Addr &src, const Ipv6Addr &target) noexcept {
    size_t len = (vlan_id ? 18 : 14) + kIp6 + kNdBody + kLladdrOpt;
    if (out.size() < len) return 0;
    Ipv6Addr group = solicited_node(target);
    size_t l2 = write_l2l3(out.data(), multicast_mac(group), src_mac, vlan_id, 6u << 28,
                           kNdHopLimit, src, group, kNdBody + kLladdrOpt);
    uint8_t *icmp = out.data() + l2 + kIp6;
    size_t n = write_nd(icmp, kNeighbourSolicitation, 0, target, kOptSourceLladdr, src_mac);
    set_checksum(src, group, icmp, n);
    return len;
}

size_t build_na(std::span<uint8_t> out, const MacAddr &src_mac, const MacAddr &dst_mac,
                uint16_t vlan_id, const Ipv6Addr &target, const Ipv6Addr &dst,
                bool solicited) noexcept {
    size_t len = (vlan_id ? 18 : 14) + kIp6 + kNdBody + kLladdrOpt;
    if (out.size() < len) return 0;
    size_t l2 = write_l2l3(out.data(), dst_mac, src_mac, vlan_id, 6u << 28, kNdHopLimit, target,
                           dst, kNdBody + kLladdrOpt);
    uint8_t *icmp = out.data() + l2 + kIp6;
    uint8_t flags = static_cast<uint8_t>(kNaOverride | (solicited ? kNaSolicited : 0));
    size_t n = write_nd(icmp, kNeighbourAdvertisement, flags, target, kOptTargetLladdr, src_mac);
    set_checksum(target, dst, icmp, n);
    return len;
}

size_t icmp6_echo_reply(std::span<const uint8_t> frame, const Ipv6Addr &local_ip,
                        const MacAddr &local_mac, std::span<uint8_t> out) noexcept {
    uint16_t tci;
    size_t l2 = ipv6_offset(frame, &tci);
    if (l2 == 0) return 0;
    const uint8_t *ip = &frame[l2];
    size_t plen = get16(ip + 4);
    if ((ip[0] >> 4) != 6 || ip[6] != kIpProtoIcmp6 || plen < 8) return 0;
    if (frame.size() - l2 - kIp6 < plen) return 0;
    Ipv6Addr src, dst;
    std::memcpy(src.data(), ip + 8, 16);
    std::memcpy(dst.data(), ip + 24, 16);
    if (dst != local_ip || is_multicast(src)) return 0;
    const uint8_t *icmp = ip + kIp6;
    if (icmp[0] != kEcho6Request || icmp[1] != 0) return 0;
    if (icmp6_checksum(src, dst, {icmp, plen}) != 0) return 0;

    size_t len = l2 + kIp6 + plen;
    if (out.size() < len) return 0;
    uint8_t *p = out.data();
    MacAddr requester;
    std::memcpy(requester.data(), &frame[6], 6);
    uint32_t traffic_class = (uint32_t{get16(ip)} << 16 | get16(ip + 2)) & 0x0FF00000u;
    write_l2l3(p, requester, local_mac, tci & 0x0FFF, 6u << 28 | traffic_class,
               wire::kDefaultHopLimit, local_ip, src, plen);
    uint8_t *ricmp = p + l2 + kIp6;
    std::memcpy(ricmp, icmp, plen);
    ricmp[0] = kEcho6Reply;
    put16(ricmp + 2, 0);
    set_checksum(local_ip, src, ricmp, plen);
    return len;
}

}  // namespace homa::dp
