/**
 * @file
 * Validation and typed views of received frames.
 *
 * decode_frame() checks a raw frame (Ethernet II, optional 802.1Q tag, IPv4 or IPv6, Homa) and
 * either
 * returns a PacketView whose header pointers are safe to dereference, or the first reason the
 * frame is unacceptable. Every reason is its own enum value so that the dataplane can count
 * drops precisely (Linux Homa's skb_drop_reason idea).
 *
 * @code
 *   homa::wire::PacketView view;
 *   auto reason = homa::wire::decode_frame(bytes, view);
 *   if (reason != homa::wire::DecodeError::kOk) { ++drops[index(reason)]; return; }
 *   if (view.type() == homa::wire::PacketType::kGrant) handle_grant(*view.grant());
 * @endcode
 *
 * Ownership: a PacketView points into the caller's frame bytes and is valid as long as they
 * are. Threading: pure functions. Errors: the DecodeError result; decoding never throws,
 * allocates, or reads outside the span it was given.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "homa/proto/frame.h"
#include "homa/proto/ip_address.h"
#include "homa/proto/wire.h"

namespace homa::wire {

/**
 * Why a frame was rejected. Values are dense from 0 so they index counter arrays; when
 * adding one, add its name in decode.cc and a rejection test in tests/proto/decode_test.cc.
 */
enum class DecodeError : uint8_t {
    kOk = 0,
    kEthernetTooShort,           ///< Shorter than an Ethernet (+VLAN) header.
    kNotIp,                      ///< EtherType (after any VLAN tag) is neither IPv4 nor IPv6.
    kIpTooShort,                 ///< Fewer bytes than an IPv4 header after Ethernet.
    kIpBadVersion,               ///< Version nibble is not 4.
    kIpBadHeaderLength,          ///< IHL < 5 or options run past the frame.
    kIpBadTotalLength,           ///< total_length < IHL*4 or larger than the bytes present.
    kIpBadChecksum,              ///< IPv4 header checksum does not verify.
    kIpFragment,                 ///< MF set or fragment offset non-zero: Homa never fragments.
    kWrongProtocol,              ///< IP protocol is not 146.
    kHomaTooShort,               ///< Fewer than 28 bytes: not even a common header.
    kUnknownType,                ///< Type byte outside 0x10..0x18.
    kTooShortForType,            ///< Fewer bytes than the type's header size.
    kBadDoff,                    ///< doff does not match the type (0xE0 for DATA, 0x50 otherwise).
    kDataEmpty,                  ///< DATA without payload (Homa has no zero-length messages).
    kDataMessageTooLong,         ///< message_length > 1,000,000 (or 0).
    kDataBeyondMessage,          ///< seg.offset + payload > message_length.
    kBadPriority,                ///< GRANT/RESEND priority > 7.
    kTooManyAcks,                ///< ACK num_acks > 5.
    kZeroPort,                   ///< Source or destination port 0 (any type but FREEZE): no
                                 ///< socket has port 0, and a reply to it would go nowhere.
    kDataIncomingBeyondMessage,  ///< DATA `incoming` > message_length: claims bytes that
                                 ///< cannot exist (would inflate the receiver's grant accounting).
    // IPv6 (EtherType 0x86DD). docs/wire.md lists which extension headers are skipped.
    kIp6TooShort,          ///< Fewer bytes than the 40-byte IPv6 header after Ethernet.
    kIp6BadVersion,        ///< Version nibble is not 6.
    kIp6BadPayloadLength,  ///< payload_length 0 (jumbogram) or beyond the bytes present.
    kIp6ExtensionHeader,   ///< An extension header we do not skip (AH, ESP, a routing
                           ///< header with segments left, a misplaced Hop-by-Hop, ...) or
                           ///< one that runs past the payload.
    kIp6Fragment,          ///< A Fragment header: Homa never fragments, we never reassemble.
    kIp6WrongNextHeader,   ///< The upper-layer protocol is not 146.
    kCount,                ///< Number of values; not a reason.
};

inline constexpr size_t kNumDecodeErrors = static_cast<size_t>(DecodeError::kCount);

/** Stable snake_case name for a reason, e.g. "ip_bad_checksum"; used by counters. */
const char *decode_error_name(DecodeError e) noexcept;

/** A validated Homa packet inside a frame. */
class PacketView {
  public:
    PacketType type() const noexcept { return static_cast<PacketType>(common_->type); }
    const CommonHeader &common() const noexcept { return *common_; }
    /** True for a frame that came over IPv6 (ip6() valid), false for IPv4 (ip() valid). */
    bool is_ipv6() const noexcept { return ip6_ != nullptr; }
    /** The IPv4 header; only when !is_ipv6(). */
    const Ipv4Header &ip() const noexcept { return *ip_; }
    /** The fixed IPv6 header; only when is_ipv6(). */
    const Ipv6Header &ip6() const noexcept { return *ip6_; }
    /** Priority: IPv4 TOS bits 7..5, or IPv6 traffic class bits 7..5 (Linux's encoding). */
    uint8_t ip_priority() const noexcept {
        return ip6_ ? static_cast<uint8_t>(ip6_->vtc_flow.get() >> 25 & 7)
                    : static_cast<uint8_t>(ip_->tos >> 5);
    }
    /** IPv6 flow label (0 for IPv4 frames). */
    uint32_t flow_label() const noexcept {
        return ip6_ ? ip6_->vtc_flow.get() & kIpv6FlowLabelMask : 0;
    }
    /** VLAN TCI, or 0 when the frame was untagged. */
    uint16_t vlan_tci() const noexcept { return vlan_tci_; }
    /** IPv4 source and destination, host order; only when !is_ipv6(). */
    uint32_t src_ip() const noexcept { return ip_->src.get(); }
    uint32_t dst_ip() const noexcept { return ip_->dst.get(); }
    /** Source and destination of either family, IPv4 ones IPv4-mapped (::ffff:a.b.c.d), as
     *  Linux's skb_canonical_ipv6_saddr gives them: the engine keys peers by these. */
    IpAddress src_addr() const noexcept {
        return ip6_ ? IpAddress::ipv6(ip6_->src) : IpAddress::ipv4_network(&ip_->src);
    }
    /** src_addr().fold32(), without building the address (the RPC index's prefetch hash). */
    uint32_t src_fold32() const noexcept {
        if (ip6_) return IpAddress::ipv6(ip6_->src).fold32();
        uint32_t w;
        std::memcpy(&w, &ip_->src, 4);
        return IpAddress::ipv4_fold32(w);
    }
    IpAddress dst_addr() const noexcept {
        return ip6_ ? IpAddress::ipv6(ip6_->dst) : IpAddress::ipv4_network(&ip_->dst);
    }
    /** Bytes from the start of the frame to the Homa header. */
    size_t homa_offset() const noexcept { return homa_offset_; }

    /** Typed headers; each returns nullptr unless the packet is of that type. */
    const DataHeader *data() const noexcept { return as<DataHeader>(PacketType::kData); }
    const GrantHeader *grant() const noexcept { return as<GrantHeader>(PacketType::kGrant); }
    const ResendHeader *resend() const noexcept { return as<ResendHeader>(PacketType::kResend); }
    const CutoffsHeader *cutoffs() const noexcept {
        return as<CutoffsHeader>(PacketType::kCutoffs);
    }
    const AckHeader *ack() const noexcept { return as<AckHeader>(PacketType::kAck); }

    /** DATA payload (empty for other types). */
    std::span<const uint8_t> payload() const noexcept { return payload_; }

  private:
    friend DecodeError decode_homa(std::span<const uint8_t>, PacketView &) noexcept;
    friend DecodeError decode_frame(std::span<const uint8_t>, PacketView &) noexcept;
    friend DecodeError decode_frame_general(std::span<const uint8_t>, PacketView &) noexcept;
    friend bool decode_plain_data(std::span<const uint8_t>, PacketView &) noexcept;
    friend DecodeError decode_ipv4(std::span<const uint8_t>, size_t, PacketView &) noexcept;
    friend DecodeError decode_ipv6(std::span<const uint8_t>, size_t, PacketView &) noexcept;

    template <typename H>
    const H *as(PacketType t) const noexcept {
        return type() == t ? reinterpret_cast<const H *>(common_) : nullptr;
    }

    const Ipv4Header *ip_ = nullptr;
    const Ipv6Header *ip6_ = nullptr;
    const CommonHeader *common_ = nullptr;
    std::span<const uint8_t> payload_;
    size_t homa_offset_ = 0;
    uint16_t vlan_tci_ = 0;
};

/**
 * Validates a whole frame starting at its Ethernet header. On kOk, `view` describes the
 * packet; on any other result `view` is unspecified and must not be used.
 */
DecodeError decode_frame(std::span<const uint8_t> frame, PacketView &view) noexcept;

/**
 * decode_frame's shortcut alone: true, with `view` set as decode_frame would set it, when
 * `frame` is the frame Homa sends most (untagged Ethernet, IPv4 without options, not a
 * fragment, DATA) and valid. False when it is not that frame or not valid; `view` is then
 * unspecified and decode_frame decides (and names the reason). A caller that checks other
 * protocols first (ARP, ICMP) may call this before them: such a frame is none of those.
 */
bool decode_plain_data(std::span<const uint8_t> frame, PacketView &view) noexcept;

/**
 * decode_frame without its shortcut for the common frame (untagged IPv4 without options,
 * DATA): the same result and the same view for every input, only slower for that frame.
 * decode_frame falls back to it for every other frame; tests and the fuzz target hold the
 * two to the same answers.
 */
DecodeError decode_frame_general(std::span<const uint8_t> frame, PacketView &view) noexcept;

/**
 * Validates only the Homa part (`homa` starts at the common header and ends where the IP
 * datagram ends). view.ip() is not valid after this call; decode_frame sets it.
 */
DecodeError decode_homa(std::span<const uint8_t> homa, PacketView &view) noexcept;

/** The IPv4 and IPv6 stages of decode_frame: `l3` is where the IP header starts. */
DecodeError decode_ipv4(std::span<const uint8_t> frame, size_t l3, PacketView &view) noexcept;
DecodeError decode_ipv6(std::span<const uint8_t> frame, size_t l3, PacketView &view) noexcept;

}  // namespace homa::wire
