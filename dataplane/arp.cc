// ARP parsing and building; see arp.h.
#include "arp.h"

#include <cstring>

#include "be16.h"

#include "homa/proto/frame.h"

namespace homa::dp {
namespace {

constexpr size_t kArpLen = 28;  // Ethernet/IPv4 ARP body

uint32_t get32(const uint8_t *p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void put32(uint8_t *p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}

}  // namespace

bool parse_arp(std::span<const uint8_t> frame, ArpPacket *out) noexcept {
    if (frame.size() < 14) return false;
    size_t off = 12;
    uint16_t type = get16(&frame[off]);
    uint16_t tci = 0;
    if (type == wire::kEtherTypeVlan) {
        if (frame.size() < 18) return false;
        tci = get16(&frame[14]);
        off = 16;
        type = get16(&frame[off]);
    }
    off += 2;
    if (type != wire::kEtherTypeArp || frame.size() < off + kArpLen) return false;
    const uint8_t *a = &frame[off];
    // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4: the only kind a Homa host resolves.
    if (get16(a) != 1 || get16(a + 2) != wire::kEtherTypeIpv4 || a[4] != 6 || a[5] != 4) {
        return false;
    }
    uint16_t op = get16(a + 6);
    if (op != kArpRequest && op != kArpReply) return false;
    out->op = op;
    std::memcpy(out->sha.data(), a + 8, 6);
    out->spa = get32(a + 14);
    std::memcpy(out->tha.data(), a + 18, 6);
    out->tpa = get32(a + 24);
    out->vlan_tci = tci;
    return true;
}

size_t build_arp(std::span<uint8_t> out, const MacAddr &eth_dst, uint16_t vlan_id,
                 const ArpPacket &arp) noexcept {
    size_t l2 = vlan_id ? 18 : 14;
    size_t len = std::max(kMinFrame, l2 + kArpLen);
    if (out.size() < len) return 0;
    uint8_t *p = out.data();
    std::memset(p, 0, len);
    std::memcpy(p, eth_dst.data(), 6);
    std::memcpy(p + 6, arp.sha.data(), 6);
    if (vlan_id) {
        put16(p + 12, wire::kEtherTypeVlan);
        put16(p + 14, vlan_id & 0x0FFF);
    }
    put16(p + l2 - 2, wire::kEtherTypeArp);
    uint8_t *a = p + l2;
    put16(a, 1);
    put16(a + 2, wire::kEtherTypeIpv4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, arp.op);
    std::memcpy(a + 8, arp.sha.data(), 6);
    put32(a + 14, arp.spa);
    std::memcpy(a + 18, arp.tha.data(), 6);
    put32(a + 24, arp.tpa);
    return len;
}

}  // namespace homa::dp
