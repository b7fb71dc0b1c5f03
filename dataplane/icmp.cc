// ICMP echo replies; see icmp.h.
#include "icmp.h"

#include <cstring>

#include "be16.h"

#include "homa/proto/frame.h"

namespace homa::dp {
namespace {

constexpr uint8_t kEchoReply = 0;
constexpr uint8_t kEchoRequest = 8;

}  // namespace

size_t icmp_echo_reply(std::span<const uint8_t> frame, uint32_t local_ip, const MacAddr &local_mac,
                       uint16_t ip_id, std::span<uint8_t> out) noexcept {
    if (frame.size() < 14) return 0;
    size_t l2 = get16(&frame[12]) == wire::kEtherTypeVlan ? 18 : 14;
    if (frame.size() < l2 + 20 || get16(&frame[l2 - 2]) != wire::kEtherTypeIpv4) return 0;
    const uint8_t *ip = &frame[l2];
    size_t ihl = size_t{ip[0] & 0x0Fu} * 4;
    size_t total = get16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl + 8 || l2 + total > frame.size()) return 0;
    if (ip[9] != kIpProtoIcmp) return 0;
    if ((get16(ip + 6) & (wire::kIpv4MoreFragments | wire::kIpv4FragOffsetMask)) != 0) return 0;
    uint32_t dst = uint32_t{ip[16]} << 24 | uint32_t{ip[17]} << 16 | uint32_t{ip[18]} << 8 | ip[19];
    if (dst != local_ip) return 0;
    if (wire::internet_checksum({ip, ihl}) != 0) return 0;
    const uint8_t *icmp = ip + ihl;
    size_t icmp_len = total - ihl;
    if (icmp[0] != kEchoRequest || icmp[1] != 0) return 0;
    if (wire::internet_checksum({icmp, icmp_len}) != 0) return 0;

    size_t len = l2 + 20 + icmp_len;
    if (out.size() < len) return 0;
    uint8_t *p = out.data();
    std::memcpy(p, &frame[6], 6);  // back to whoever asked
    std::memcpy(p + 6, local_mac.data(), 6);
    std::memcpy(p + 12, &frame[12], l2 - 12);  // EtherType, or VLAN tag + EtherType
    uint8_t *rip = p + l2;
    rip[0] = 0x45;
    rip[1] = ip[1];
    put16(rip + 2, static_cast<uint16_t>(20 + icmp_len));
    put16(rip + 4, ip_id);
    put16(rip + 6, wire::kIpv4DontFragment);
    rip[8] = wire::kDefaultTtl;
    rip[9] = kIpProtoIcmp;
    put16(rip + 10, 0);
    std::memcpy(rip + 12, ip + 16, 4);  // from us
    std::memcpy(rip + 16, ip + 12, 4);  // to the requester
    put16(rip + 10, wire::internet_checksum({rip, 20}));
    uint8_t *ricmp = rip + 20;
    std::memcpy(ricmp, icmp, icmp_len);
    ricmp[0] = kEchoReply;
    put16(ricmp + 2, 0);
    put16(ricmp + 2, wire::internet_checksum({ricmp, icmp_len}));
    return len;
}

}  // namespace homa::dp
