// The shared Ethernet + IPv4 headers of one sender, patched per frame (frame_template.h).
#include "homa/proto/frame_template.h"

#include <cstring>

#include "homa/proto/encode.h"

namespace homa::wire {
namespace {

constexpr uint8_t kVersionIhl = 0x45;  // what encode_l2l3 writes: IPv4, no options

uint16_t word_at(const uint8_t *p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint32_t fold(uint32_t sum) noexcept {
    sum = (sum & 0xFFFF) + (sum >> 16);
    return (sum & 0xFFFF) + (sum >> 16);
}

}  // namespace

bool Ipv4FrameTemplate::build(const FrameAddr &shared) noexcept {
    FrameAddr a = shared;
    a.dst_ip = 0;
    a.priority = 0;
    a.ip_id = 0;
    size_t n = encode_l2l3(bytes_, a, 0);
    if (n == 0) return false;
    size_ = static_cast<uint8_t>(n);
    ip_offset_ = static_cast<uint8_t>(n - sizeof(Ipv4Header));
    vlan_id_ = shared.vlan_id;
    const uint8_t *ip = bytes_ + ip_offset_;
    // Equation 3 for each word write() replaces: ~HC + ~old, the new words added per frame.
    uint32_t sum = static_cast<uint16_t>(~word_at(ip + offsetof(Ipv4Header, checksum)));
    for (size_t off : {size_t{0}, offsetof(Ipv4Header, total_length), offsetof(Ipv4Header, id),
                       offsetof(Ipv4Header, dst), offsetof(Ipv4Header, dst) + 2}) {
        sum += static_cast<uint16_t>(~word_at(ip + off));
    }
    adjust_base_ = fold(sum);
    return true;
}

size_t Ipv4FrameTemplate::write(std::span<uint8_t> out, uint32_t dst_ip, uint8_t priority,
                                uint16_t ip_id, size_t homa_bytes) const noexcept {
    size_t ip_total = sizeof(Ipv4Header) + homa_bytes;
    if (size_ == 0 || out.size() < size_ || priority > kMaxPriority || ip_total > 0xFFFF) {
        return 0;
    }
    uint8_t *p = out.data();
    // Two constant-size copies, so that neither is a call to memcpy.
    if (vlan_id_ == 0) {
        std::memcpy(p, bytes_, sizeof(EthernetHeader) + sizeof(Ipv4Header));
    } else {
        std::memcpy(p, bytes_, kMaxSize);
        auto *tag = reinterpret_cast<VlanTag *>(p + sizeof(EthernetHeader));
        tag->tci.set(static_cast<uint16_t>(priority << 13 | vlan_id_));
    }
    auto *ip = reinterpret_cast<Ipv4Header *>(p + ip_offset_);
    auto tos = static_cast<uint8_t>(priority << 5);
    ip->tos = tos;
    ip->total_length.set(static_cast<uint16_t>(ip_total));
    ip->id.set(ip_id);
    ip->dst.set(dst_ip);
    uint32_t sum = adjust_base_ + (uint32_t{kVersionIhl} << 8 | tos) +
                   static_cast<uint32_t>(ip_total) + ip_id + (dst_ip >> 16) + (dst_ip & 0xFFFF);
    ip->checksum.set(static_cast<uint16_t>(~fold(sum)));
    return size_;
}

}  // namespace homa::wire
