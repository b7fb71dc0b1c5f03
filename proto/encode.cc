// Frame encoders. Each writes the whole frame or nothing: sizes and field ranges are checked
// before the first byte is written, so a 0 return never leaves a half-built frame behind.
// The header-only encoders do the Homa part; the frame encoders add Ethernet + IPv4 or IPv6
// in front (one template per frame kind, instantiated for both address families).
#include "homa/proto/encode.h"

#include <cstring>

namespace homa::wire {
namespace {

constexpr size_t kMaxIpTotal = 0xFFFF;

void fill_common(CommonHeader &h, const Common &c, PacketType type, uint32_t sequence) noexcept {
    std::memset(&h, 0, sizeof(h));
    h.sport.set(c.sport);
    h.dport.set(c.dport);
    h.sequence.set(sequence);
    h.type = static_cast<uint8_t>(type);
    h.doff = expected_doff(type);
    h.sender_id.set(c.sender_id);
}

void fill_ack(AckEntry &e, const Ack &a) noexcept {
    e.client_id.set(a.client_id);
    e.server_port.set(a.server_port);
}

bool is_bare_type(PacketType t) noexcept {
    return t == PacketType::kRpcUnknown || t == PacketType::kBusy || t == PacketType::kFreeze ||
           t == PacketType::kNeedAck;
}

template <typename H>
H *header_at(std::span<uint8_t> out) noexcept {
    return out.size() < sizeof(H) ? nullptr : reinterpret_cast<H *>(out.data());
}

// Builds a whole control frame: checks the size once, then L2/L3, then the Homa header.
template <typename Addr, typename Fields>
size_t encode_frame(std::span<uint8_t> out, const Addr &addr, const Fields &f,
                    size_t homa_bytes) noexcept {
    size_t l2l3 = l2l3_size(addr);
    if (out.size() < l2l3 + homa_bytes) return 0;
    std::array<uint8_t, sizeof(AckHeader)> scratch;  // validate fields before touching `out`
    if (encode_header(scratch, f) != homa_bytes) return 0;
    if (encode_l2l3(out, addr, homa_bytes) == 0) return 0;
    std::memcpy(out.data() + l2l3, scratch.data(), homa_bytes);
    return l2l3 + homa_bytes;
}

// Ethernet (+ 802.1Q tag carrying the priority in its PCP); returns where L3 starts.
template <typename Addr>
uint8_t *write_l2(uint8_t *p, const Addr &addr, uint16_t ether_type) noexcept {
    auto *eth = reinterpret_cast<EthernetHeader *>(p);
    std::memcpy(eth->dst, addr.dst_mac.data(), 6);
    std::memcpy(eth->src, addr.src_mac.data(), 6);
    p += sizeof(EthernetHeader);
    if (addr.vlan_id == 0) {
        eth->ether_type.set(ether_type);
        return p;
    }
    eth->ether_type.set(kEtherTypeVlan);
    auto *tag = reinterpret_cast<VlanTag *>(p);
    tag->tci.set(static_cast<uint16_t>(addr.priority << 13 | addr.vlan_id));
    tag->ether_type.set(ether_type);
    return p + sizeof(VlanTag);
}

template <typename Addr>
size_t data_headers(std::span<uint8_t> out, const Addr &addr, const Data &data,
                    uint32_t payload_len) noexcept {
    if (payload_len == 0 || data.message_length > kMaxMessageLength ||
        data.offset > data.message_length || payload_len > data.message_length - data.offset) {
        return 0;
    }
    size_t l2l3 = l2l3_size(addr);
    if (out.size() < l2l3 + sizeof(DataHeader)) return 0;
    if (encode_l2l3(out, addr, sizeof(DataHeader) + payload_len) == 0) return 0;
    return l2l3 + encode_header(out.subspan(l2l3), data);
}

template <typename Addr>
size_t data_frame(std::span<uint8_t> out, const Addr &addr, const Data &data,
                  std::span<const uint8_t> payload) noexcept {
    size_t need = l2l3_size(addr) + sizeof(DataHeader) + payload.size();
    if (out.size() < need || payload.size() > kMaxMessageLength) return 0;
    size_t n = data_headers(out, addr, data, static_cast<uint32_t>(payload.size()));
    if (n == 0) return 0;
    std::memcpy(out.data() + n, payload.data(), payload.size());
    return n + payload.size();
}

}  // namespace

size_t encode_l2l3(std::span<uint8_t> out, const FrameAddr6 &addr, size_t homa_bytes) noexcept {
    size_t l2l3 = l2l3_size(addr);
    if (out.size() < l2l3 || homa_bytes > kMaxIpTotal || addr.priority > kMaxPriority ||
        addr.vlan_id > 4094 || addr.flow_label > kIpv6FlowLabelMask) {
        return 0;
    }
    auto *ip = reinterpret_cast<Ipv6Header *>(write_l2(out.data(), addr, kEtherTypeIpv6));
    ip->vtc_flow.set(ipv6_first_word(addr.priority, addr.flow_label));
    ip->payload_length.set(static_cast<uint16_t>(homa_bytes));
    ip->next_header = kIpProtoHoma;
    ip->hop_limit = kDefaultHopLimit;
    std::memcpy(ip->src, addr.src_ip.data(), 16);
    std::memcpy(ip->dst, addr.dst_ip.data(), 16);
    return l2l3;
}

size_t encode_l2l3(std::span<uint8_t> out, const FrameAddr &addr, size_t homa_bytes) noexcept {
    size_t l2l3 = l2l3_size(addr);
    size_t ip_total = sizeof(Ipv4Header) + homa_bytes;
    if (out.size() < l2l3 || ip_total > kMaxIpTotal || addr.priority > kMaxPriority ||
        addr.vlan_id > 4094) {
        return 0;
    }
    uint8_t *p = write_l2(out.data(), addr, kEtherTypeIpv4);
    auto *ip = reinterpret_cast<Ipv4Header *>(p);
    ip->version_ihl = 0x45;
    ip->tos = static_cast<uint8_t>(addr.priority << 5);
    ip->total_length.set(static_cast<uint16_t>(ip_total));
    ip->id.set(addr.ip_id);
    ip->frag_off.set(kIpv4DontFragment);
    ip->ttl = kDefaultTtl;
    ip->protocol = kIpProtoHoma;
    ip->checksum.set(0);
    ip->src.set(addr.src_ip);
    ip->dst.set(addr.dst_ip);
    ip->checksum.set(internet_checksum({p, sizeof(Ipv4Header)}));
    return l2l3;
}

size_t encode_header(std::span<uint8_t> out, const Data &data) noexcept {
    auto *h = header_at<DataHeader>(out);
    if (h == nullptr) return 0;
    fill_common(h->common, data.common, PacketType::kData, data.offset);
    h->message_length.set(data.message_length);
    h->incoming.set(data.incoming);
    fill_ack(h->ack, data.ack);
    h->cutoff_version.set(data.cutoff_version);
    h->retransmit = data.retransmit ? 1 : 0;
    std::memset(h->pad, 0, sizeof(h->pad));
    h->seg_offset.set(data.offset);
    return sizeof(*h);
}

size_t encode_header(std::span<uint8_t> out, const Grant &grant) noexcept {
    auto *h = header_at<GrantHeader>(out);
    if (h == nullptr || grant.priority > kMaxPriority) return 0;
    fill_common(h->common, grant.common, PacketType::kGrant, 0);
    h->offset.set(grant.offset);
    h->priority = grant.priority;
    return sizeof(*h);
}

size_t encode_header(std::span<uint8_t> out, const Resend &resend) noexcept {
    auto *h = header_at<ResendHeader>(out);
    if (h == nullptr || resend.priority > kMaxPriority) return 0;
    fill_common(h->common, resend.common, PacketType::kResend, 0);
    h->offset.set(resend.offset);
    h->length.set(resend.length);
    h->priority = resend.priority;
    return sizeof(*h);
}

size_t encode_header(std::span<uint8_t> out, const Bare &bare) noexcept {
    auto *h = header_at<CommonHeader>(out);
    if (h == nullptr || !is_bare_type(bare.type)) return 0;
    fill_common(*h, bare.common, bare.type, 0);
    return sizeof(*h);
}

size_t encode_header(std::span<uint8_t> out, const Cutoffs &cutoffs) noexcept {
    auto *h = header_at<CutoffsHeader>(out);
    if (h == nullptr) return 0;
    fill_common(h->common, cutoffs.common, PacketType::kCutoffs, 0);
    for (size_t i = 0; i < kNumPriorities; ++i)
        h->unsched_cutoffs[i].set(cutoffs.unsched_cutoffs[i]);
    h->cutoff_version.set(cutoffs.cutoff_version);
    return sizeof(*h);
}

size_t encode_header(std::span<uint8_t> out, const Acks &acks) noexcept {
    auto *h = header_at<AckHeader>(out);
    if (h == nullptr || acks.num_acks > kMaxAcks) return 0;
    fill_common(h->common, acks.common, PacketType::kAck, 0);
    h->num_acks.set(acks.num_acks);
    // Unused slots are zeroed so that the frame never carries stale memory.
    for (size_t i = 0; i < kMaxAcks; ++i) {
        fill_ack(h->acks[i], i < acks.num_acks ? acks.acks[i] : Ack{});
    }
    return sizeof(*h);
}

size_t encode_data_headers(std::span<uint8_t> out, const FrameAddr &addr, const Data &data,
                           uint32_t payload_len) noexcept {
    return data_headers(out, addr, data, payload_len);
}
size_t encode_data_headers(std::span<uint8_t> out, const FrameAddr6 &addr, const Data &data,
                           uint32_t payload_len) noexcept {
    return data_headers(out, addr, data, payload_len);
}

size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Data &data,
              std::span<const uint8_t> payload) noexcept {
    return data_frame(out, addr, data, payload);
}
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Data &data,
              std::span<const uint8_t> payload) noexcept {
    return data_frame(out, addr, data, payload);
}

size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Grant &grant) noexcept {
    return encode_frame(out, addr, grant, sizeof(GrantHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Resend &resend) noexcept {
    return encode_frame(out, addr, resend, sizeof(ResendHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Bare &bare) noexcept {
    return encode_frame(out, addr, bare, sizeof(CommonHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Cutoffs &cutoffs) noexcept {
    return encode_frame(out, addr, cutoffs, sizeof(CutoffsHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Acks &acks) noexcept {
    return encode_frame(out, addr, acks, sizeof(AckHeader));
}

size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Grant &grant) noexcept {
    return encode_frame(out, addr, grant, sizeof(GrantHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Resend &resend) noexcept {
    return encode_frame(out, addr, resend, sizeof(ResendHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Bare &bare) noexcept {
    return encode_frame(out, addr, bare, sizeof(CommonHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Cutoffs &cutoffs) noexcept {
    return encode_frame(out, addr, cutoffs, sizeof(CutoffsHeader));
}
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Acks &acks) noexcept {
    return encode_frame(out, addr, acks, sizeof(AckHeader));
}

}  // namespace homa::wire
