// Frame validation. DESIGN NOTES: checks run outermost first (Ethernet, IPv4, Homa common,
// type-specific) and stop at the first failure, so each frame is counted under exactly one
// reason. Every read is bounds-checked against the span before it happens; the fuzz target in
// tests/fuzz holds this to account.
#include "homa/proto/decode.h"

namespace homa::wire {

const char *decode_error_name(DecodeError e) noexcept {
    switch (e) {
        case DecodeError::kOk: return "ok";
        case DecodeError::kEthernetTooShort: return "ethernet_too_short";
        case DecodeError::kNotIpv4: return "not_ipv4";
        case DecodeError::kIpTooShort: return "ip_too_short";
        case DecodeError::kIpBadVersion: return "ip_bad_version";
        case DecodeError::kIpBadHeaderLength: return "ip_bad_header_length";
        case DecodeError::kIpBadTotalLength: return "ip_bad_total_length";
        case DecodeError::kIpBadChecksum: return "ip_bad_checksum";
        case DecodeError::kIpFragment: return "ip_fragment";
        case DecodeError::kWrongProtocol: return "wrong_protocol";
        case DecodeError::kHomaTooShort: return "homa_too_short";
        case DecodeError::kUnknownType: return "unknown_type";
        case DecodeError::kTooShortForType: return "too_short_for_type";
        case DecodeError::kBadDoff: return "bad_doff";
        case DecodeError::kDataEmpty: return "data_empty";
        case DecodeError::kDataMessageTooLong: return "data_message_too_long";
        case DecodeError::kDataBeyondMessage: return "data_beyond_message";
        case DecodeError::kBadPriority: return "bad_priority";
        case DecodeError::kTooManyAcks: return "too_many_acks";
        case DecodeError::kZeroPort: return "zero_port";
        case DecodeError::kDataIncomingBeyondMessage: return "data_incoming_beyond_message";
        case DecodeError::kCount: break;
    }
    return "invalid";
}

namespace {

DecodeError check_data(const DataHeader &h, size_t payload_len) noexcept {
    if (payload_len == 0) return DecodeError::kDataEmpty;
    uint32_t length = h.message_length.get();
    if (length == 0 || length > kMaxMessageLength) return DecodeError::kDataMessageTooLong;
    uint64_t end = uint64_t{h.seg_offset.get()} + payload_len;
    if (end > length) return DecodeError::kDataBeyondMessage;
    if (h.incoming.get() > length) return DecodeError::kDataIncomingBeyondMessage;
    return DecodeError::kOk;
}

}  // namespace

DecodeError decode_homa(std::span<const uint8_t> homa, PacketView &view) noexcept {
    if (homa.size() < sizeof(CommonHeader)) return DecodeError::kHomaTooShort;
    const auto *common = reinterpret_cast<const CommonHeader *>(homa.data());
    if (!is_known_type(common->type)) return DecodeError::kUnknownType;
    auto type = static_cast<PacketType>(common->type);
    size_t hsize = header_size(common->type);
    if (homa.size() < hsize) return DecodeError::kTooShortForType;
    if ((common->doff & 0xF0) != expected_doff(type)) return DecodeError::kBadDoff;
    // FREEZE is the one packet not about a socket (Linux sends it between hosts).
    if (type != PacketType::kFreeze && (common->sport.get() == 0 || common->dport.get() == 0)) {
        return DecodeError::kZeroPort;
    }

    view.common_ = common;
    view.payload_ = {};
    switch (type) {
        case PacketType::kData: {
            const auto *h = reinterpret_cast<const DataHeader *>(common);
            size_t payload_len = homa.size() - hsize;
            if (DecodeError e = check_data(*h, payload_len); e != DecodeError::kOk) return e;
            view.payload_ = homa.subspan(hsize);
            break;
        }
        case PacketType::kGrant:
            if (reinterpret_cast<const GrantHeader *>(common)->priority > kMaxPriority) {
                return DecodeError::kBadPriority;
            }
            break;
        case PacketType::kResend:
            if (reinterpret_cast<const ResendHeader *>(common)->priority > kMaxPriority) {
                return DecodeError::kBadPriority;
            }
            break;
        case PacketType::kAck:
            if (reinterpret_cast<const AckHeader *>(common)->num_acks.get() > kMaxAcks) {
                return DecodeError::kTooManyAcks;
            }
            break;
        default: break;
    }
    return DecodeError::kOk;
}

DecodeError decode_frame(std::span<const uint8_t> frame, PacketView &view) noexcept {
    size_t off = sizeof(EthernetHeader);
    if (frame.size() < off) return DecodeError::kEthernetTooShort;
    const auto *eth = reinterpret_cast<const EthernetHeader *>(frame.data());
    uint16_t ether_type = eth->ether_type.get();
    view.vlan_tci_ = 0;
    if (ether_type == kEtherTypeVlan) {
        if (frame.size() < off + sizeof(VlanTag)) return DecodeError::kEthernetTooShort;
        const auto *tag = reinterpret_cast<const VlanTag *>(frame.data() + off);
        view.vlan_tci_ = tag->tci.get();
        ether_type = tag->ether_type.get();
        off += sizeof(VlanTag);
    }
    if (ether_type != kEtherTypeIpv4) return DecodeError::kNotIpv4;

    if (frame.size() < off + sizeof(Ipv4Header)) return DecodeError::kIpTooShort;
    const auto *ip = reinterpret_cast<const Ipv4Header *>(frame.data() + off);
    if ((ip->version_ihl >> 4) != 4) return DecodeError::kIpBadVersion;
    size_t ihl = size_t{ip->version_ihl & 0x0Fu} * 4;
    if (ihl < sizeof(Ipv4Header) || frame.size() < off + ihl) return DecodeError::kIpBadHeaderLength;
    size_t total = ip->total_length.get();
    // Frames may carry Ethernet padding after the datagram, never fewer bytes than it claims.
    if (total < ihl || frame.size() < off + total) return DecodeError::kIpBadTotalLength;
    if (internet_checksum(frame.subspan(off, ihl)) != 0) return DecodeError::kIpBadChecksum;
    uint16_t frag = ip->frag_off.get();
    if ((frag & kIpv4MoreFragments) || (frag & kIpv4FragOffsetMask)) return DecodeError::kIpFragment;
    if (ip->protocol != kIpProtoHoma) return DecodeError::kWrongProtocol;

    view.ip_ = ip;
    view.homa_offset_ = off + ihl;
    return decode_homa(frame.subspan(off + ihl, total - ihl), view);
}

}  // namespace homa::wire
