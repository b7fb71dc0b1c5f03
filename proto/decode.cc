// Frame validation. DESIGN NOTES: checks run outermost first (Ethernet, IPv4/IPv6, Homa common,
// type-specific) and stop at the first failure, so each frame is counted under exactly one
// reason. Every read is bounds-checked against the span before it happens; the fuzz target in
// tests/fuzz holds this to account.
#include "homa/proto/decode.h"

#include <array>
#include <bit>
#include <cstring>

namespace homa::wire {

const char *decode_error_name(DecodeError e) noexcept {
    switch (e) {
        case DecodeError::kOk: return "ok";
        case DecodeError::kEthernetTooShort: return "ethernet_too_short";
        case DecodeError::kNotIp: return "not_ip";
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
        case DecodeError::kIp6TooShort: return "ip6_too_short";
        case DecodeError::kIp6BadVersion: return "ip6_bad_version";
        case DecodeError::kIp6BadPayloadLength: return "ip6_bad_payload_length";
        case DecodeError::kIp6ExtensionHeader: return "ip6_extension_header";
        case DecodeError::kIp6Fragment: return "ip6_fragment";
        case DecodeError::kIp6WrongNextHeader: return "ip6_wrong_next_header";
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

// IPv6 next-header values of extension headers (RFC 8200 section 4, IANA's list).
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kEsp = 50;
constexpr uint8_t kAuth = 51;
constexpr uint8_t kDestOptions = 60;
constexpr uint8_t kMobility = 135;
constexpr uint8_t kHip = 139;
constexpr uint8_t kShim6 = 140;
constexpr uint8_t kExperiment1 = 253;
constexpr uint8_t kExperiment2 = 254;

// The TLV options of a Hop-by-Hop or Destination Options header, as Linux's receive path
// judges them: padding and Router Alert pass, an unknown option passes only if its action
// bits (top two) say "skip". Anything else (e.g. a jumbo payload) rejects the packet.
bool options_acceptable(std::span<const uint8_t> opts, bool hop_by_hop) noexcept {
    constexpr uint8_t kPad1 = 0, kPadN = 1, kRouterAlert = 5, kJumbo = 0xC2;
    size_t i = 0;
    while (i < opts.size()) {
        uint8_t type = opts[i];
        if (type == kPad1) {
            ++i;
            continue;
        }
        if (opts.size() - i < 2) return false;
        size_t len = size_t{2} + opts[i + 1];
        if (opts.size() - i < len) return false;
        bool known = type == kPadN || (hop_by_hop && type == kRouterAlert);
        if (!known && (type == kJumbo || (type >> 6) != 0)) return false;
        i += len;
    }
    return true;
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

// Not inlined into decode_frame: its registers would make the shortcut save and restore them too.
[[gnu::noinline]] DecodeError decode_frame_general(std::span<const uint8_t> frame,
                                                   PacketView &view) noexcept {
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
    if (ether_type == kEtherTypeIpv4) return decode_ipv4(frame, off, view);
    if (ether_type == kEtherTypeIpv6) return decode_ipv6(frame, off, view);
    return DecodeError::kNotIp;
}

namespace {

// True if an IPv4 header of `ihl` bytes sums to 0xFFFF (its checksum is right). Headers
// without options (every frame Homa sends) are summed as five 32-bit words, inline: the
// general loop was a call and a loop per frame received (docs/perf.md, "Cycles per RPC").
bool ipv4_checksum_ok(const uint8_t *ip, size_t ihl) noexcept {
    if (ihl != sizeof(Ipv4Header)) return internet_checksum({ip, ihl}) == 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof(Ipv4Header); i += 4) {
        uint32_t w;
        std::memcpy(&w, ip + i, 4);
        sum += w;
    }
    // Byte order does not matter to the ones' complement sum (RFC 1071). Five words sum to
    // below 5 * 2^32; two folds leave at most 0xFFFF + 5, congruent to the sum mod 0xFFFF,
    // which is 0xFFFF exactly when the header is right (a third fold cannot change that).
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return sum == 0xFFFF;
}

// The frame Homa sends most: untagged Ethernet, IPv4 without options, unfragmented, DATA.
// decode_frame_general walks it through about 20 branches in three functions (about 150
// instructions per frame in the one-core 100 B echo); its fixed bytes are checked here in
// three masked 8-byte compares instead, and only the fields with ranges one by one. Byte
// offsets from the start of the frame:
constexpr size_t kPlainIp = sizeof(EthernetHeader);                // 14
constexpr size_t kPlainHoma = kPlainIp + sizeof(Ipv4Header);       // 34
constexpr size_t kPlainPayload = kPlainHoma + sizeof(DataHeader);  // 90

// Eight frame bytes as one word in memory order, so that the masks below are byte lists
// whatever the host's byte order.
constexpr uint64_t bytes8(std::array<uint8_t, 8> b) noexcept { return std::bit_cast<uint64_t>(b); }
uint64_t load8(const uint8_t *p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// Bytes 12-19: EtherType IPv4, version 4 with a 20-byte header.
constexpr size_t kWord0 = 12;
constexpr uint64_t kMask0 = bytes8({0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0});
constexpr uint64_t kWant0 =
    bytes8({kEtherTypeIpv4 >> 8, kEtherTypeIpv4 & 0xFF, 0x45, 0, 0, 0, 0, 0});
// Bytes 20-27: no MF flag and no fragment offset (DF and the reserved bit may be anything, as
// decode_ipv4 lets them be), protocol Homa.
constexpr size_t kWord1 = kPlainIp + offsetof(Ipv4Header, frag_off);
constexpr uint16_t kFragBits = kIpv4MoreFragments | kIpv4FragOffsetMask;
constexpr uint64_t kMask1 = bytes8({kFragBits >> 8, kFragBits & 0xFF, 0, 0xFF, 0, 0, 0, 0});
constexpr uint64_t kWant1 = bytes8({0, 0, 0, kIpProtoHoma, 0, 0, 0, 0});
// Bytes 40-47: type DATA and DATA's doff (high nibble).
constexpr size_t kWord2 = kPlainHoma + offsetof(CommonHeader, sequence) + 2;
constexpr uint64_t kMask2 = bytes8({0, 0, 0, 0, 0, 0xFF, 0xF0, 0});
constexpr uint64_t kWant2 =
    bytes8({0, 0, 0, 0, 0, static_cast<uint8_t>(PacketType::kData), kDataDoff, 0});
static_assert(kWord1 == 20 && kWord2 + 5 == kPlainHoma + offsetof(CommonHeader, type) &&
              kWord2 + 6 == kPlainHoma + offsetof(CommonHeader, doff));

}  // namespace

bool decode_plain_data(std::span<const uint8_t> frame, PacketView &view) noexcept {
    const uint8_t *f = frame.data();
    if (frame.size() <= kPlainPayload) return false;  // also: every load below is in bounds
    if ((((load8(f + kWord0) & kMask0) ^ kWant0) | ((load8(f + kWord1) & kMask1) ^ kWant1) |
         ((load8(f + kWord2) & kMask2) ^ kWant2)) != 0) {
        return false;
    }
    const auto *ip = reinterpret_cast<const Ipv4Header *>(f + kPlainIp);
    const auto *d = reinterpret_cast<const DataHeader *>(f + kPlainHoma);
    const size_t total = ip->total_length.get();
    // At least one payload byte, and no more bytes claimed than the frame holds.
    if (total <= sizeof(Ipv4Header) + sizeof(DataHeader) || kPlainIp + total > frame.size()) {
        return false;
    }
    if (d->common.sport.get() == 0 || d->common.dport.get() == 0) return false;
    const uint32_t length = d->message_length.get();
    const size_t payload = total - sizeof(Ipv4Header) - sizeof(DataHeader);
    if (length == 0 || length > kMaxMessageLength ||
        uint64_t{d->seg_offset.get()} + payload > length || d->incoming.get() > length) {
        return false;
    }
    if (!ipv4_checksum_ok(f + kPlainIp, sizeof(Ipv4Header))) return false;
    view.vlan_tci_ = 0;
    view.ip_ = ip;
    view.ip6_ = nullptr;
    view.homa_offset_ = kPlainHoma;
    view.common_ = &d->common;
    view.payload_ = frame.subspan(kPlainPayload, payload);
    return true;
}

DecodeError decode_frame(std::span<const uint8_t> frame, PacketView &view) noexcept {
    return decode_plain_data(frame, view) ? DecodeError::kOk : decode_frame_general(frame, view);
}

DecodeError decode_ipv4(std::span<const uint8_t> frame, size_t off, PacketView &view) noexcept {
    if (frame.size() < off + sizeof(Ipv4Header)) return DecodeError::kIpTooShort;
    const auto *ip = reinterpret_cast<const Ipv4Header *>(frame.data() + off);
    if ((ip->version_ihl >> 4) != 4) return DecodeError::kIpBadVersion;
    size_t ihl = size_t{ip->version_ihl & 0x0Fu} * 4;
    if (ihl < sizeof(Ipv4Header) || frame.size() < off + ihl)
        return DecodeError::kIpBadHeaderLength;
    size_t total = ip->total_length.get();
    // Frames may carry Ethernet padding after the datagram, never fewer bytes than it claims.
    if (total < ihl || frame.size() < off + total) return DecodeError::kIpBadTotalLength;
    if (!ipv4_checksum_ok(frame.data() + off, ihl)) return DecodeError::kIpBadChecksum;
    uint16_t frag = ip->frag_off.get();
    if ((frag & kIpv4MoreFragments) || (frag & kIpv4FragOffsetMask))
        return DecodeError::kIpFragment;
    if (ip->protocol != kIpProtoHoma) return DecodeError::kWrongProtocol;

    view.ip_ = ip;
    view.ip6_ = nullptr;
    view.homa_offset_ = off + ihl;
    return decode_homa(frame.subspan(off + ihl, total - ihl), view);
}

// Extension headers: we skip what Linux's IPv6 input delivers to Homa without changing the
// packet (Hop-by-Hop first, Destination Options, a Routing header with no segments left) and
// reject what would need more (a Fragment header: reassembly; AH/ESP: IPsec; other known
// extension headers). Each skipped header is at least 8 bytes, so the walk is bounded by the
// payload length.
DecodeError decode_ipv6(std::span<const uint8_t> frame, size_t off, PacketView &view) noexcept {
    if (frame.size() < off + sizeof(Ipv6Header)) return DecodeError::kIp6TooShort;
    const auto *ip = reinterpret_cast<const Ipv6Header *>(frame.data() + off);
    if ((ip->vtc_flow.get() >> 28) != 6) return DecodeError::kIp6BadVersion;
    size_t plen = ip->payload_length.get();
    size_t start = off + sizeof(Ipv6Header);
    // 0 announces a jumbogram, which no Ethernet frame can hold.
    if (plen == 0 || frame.size() - start < plen) return DecodeError::kIp6BadPayloadLength;
    std::span<const uint8_t> payload = frame.subspan(start, plen);

    uint8_t next = ip->next_header;
    size_t ext = 0;
    for (bool first = true; next != kIpProtoHoma; first = false) {
        switch (next) {
            case kHopByHop:
            case kDestOptions:
            case kRouting: {
                if (next == kHopByHop && !first) return DecodeError::kIp6ExtensionHeader;
                if (payload.size() - ext < 8) return DecodeError::kIp6ExtensionHeader;
                size_t len = (size_t{payload[ext + 1]} + 1) * 8;
                if (payload.size() - ext < len) return DecodeError::kIp6ExtensionHeader;
                if (next == kRouting) {
                    if (payload[ext + 3] != 0) return DecodeError::kIp6ExtensionHeader;
                } else if (!options_acceptable(payload.subspan(ext + 2, len - 2),
                                               next == kHopByHop)) {
                    return DecodeError::kIp6ExtensionHeader;
                }
                next = payload[ext];
                ext += len;
                break;
            }
            case kFragment: return DecodeError::kIp6Fragment;
            case kEsp:
            case kAuth:
            case kMobility:
            case kHip:
            case kShim6:
            case kExperiment1:
            case kExperiment2: return DecodeError::kIp6ExtensionHeader;
            default: return DecodeError::kIp6WrongNextHeader;
        }
    }

    view.ip_ = nullptr;
    view.ip6_ = ip;
    view.homa_offset_ = start + ext;
    return decode_homa(payload.subspan(ext), view);
}

}  // namespace homa::wire
