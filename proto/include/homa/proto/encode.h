/**
 * @file
 * Encoders that write complete Homa frames: Ethernet II (+ 802.1Q) + IPv4 or IPv6 + Homa
 * header (+ payload for DATA). IPv4: total length and header checksum filled in. IPv6: payload
 * length, next header 146, no extension headers, hop limit 64, priority in the traffic class.
 * Every frame encoder exists for a FrameAddr (IPv4) and a FrameAddr6 (IPv6).
 *
 * @code
 *   std::array<uint8_t, 128> buf;
 *   homa::wire::FrameAddr addr{.src_mac = a, .dst_mac = b, .src_ip = ip1, .dst_ip = ip2,
 *                              .priority = 7};
 *   homa::wire::Grant g{.common = {.sport = 1, .dport = 0x8000, .sender_id = 43},
 *                       .offset = 50000, .priority = 3};
 *   size_t n = homa::wire::encode(buf, addr, g);   // 0 if buf is too small
 * @endcode
 *
 * All fields are given in host order. Ownership: the caller owns `out`; nothing is retained.
 * Threading: pure functions, callable from any thread. Errors: every encoder returns the
 * number of bytes written, or 0 when `out` is too small (nothing is written then); invalid
 * field values (priority > 7, num_acks > 5, payload longer than the message) also return 0.
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "homa/proto/frame.h"
#include "homa/proto/wire.h"

namespace homa::wire {

/** Fields of the common header that vary; the constant ones are filled by the encoder. */
struct Common {
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint64_t sender_id = 0;
};

struct Ack {
    uint64_t client_id = 0;
    uint16_t server_port = 0;
    friend bool operator==(const Ack &, const Ack &) = default;
};

struct Data {
    Common common;
    uint32_t message_length = 0;
    uint32_t incoming = 0;
    Ack ack;
    uint16_t cutoff_version = 0;
    bool retransmit = false;
    uint32_t offset = 0;  ///< Written to both common.sequence and seg.offset.
};

struct Grant {
    Common common;
    uint32_t offset = 0;
    uint8_t priority = 0;
};

struct Resend {
    Common common;
    uint32_t offset = 0;
    uint32_t length = 0;
    uint8_t priority = 0;
};

/** A header-only control packet: RPC_UNKNOWN, BUSY, FREEZE or NEED_ACK. */
struct Bare {
    PacketType type = PacketType::kBusy;
    Common common;
};

struct Cutoffs {
    Common common;
    std::array<uint32_t, kNumPriorities> unsched_cutoffs{};
    uint16_t cutoff_version = 0;
};

struct Acks {
    Common common;
    uint16_t num_acks = 0;
    std::array<Ack, kMaxAcks> acks{};
};

/** Writes Ethernet (+VLAN) + IPv4 headers for a Homa packet of `homa_bytes` bytes.
 *  Returns the bytes written (l2l3_size(addr)) or 0 if `out` is too small or the total
 *  length exceeds 65,535. */
size_t encode_l2l3(std::span<uint8_t> out, const FrameAddr &addr, size_t homa_bytes) noexcept;
/** The IPv6 counterpart: 0 also when the flow label exceeds 20 bits. */
size_t encode_l2l3(std::span<uint8_t> out, const FrameAddr6 &addr, size_t homa_bytes) noexcept;

/**
 * Writes the headers of a DATA frame whose `payload_len` payload bytes the caller attaches
 * separately (zero-copy: an external buffer chained after the headers). The IPv4 total
 * length already counts the payload. Returns the header bytes written, or 0.
 */
size_t encode_data_headers(std::span<uint8_t> out, const FrameAddr &addr, const Data &data,
                           uint32_t payload_len) noexcept;
size_t encode_data_headers(std::span<uint8_t> out, const FrameAddr6 &addr, const Data &data,
                           uint32_t payload_len) noexcept;

/** DATA with its payload copied in. Returns 0 if out is too small, if the payload is
 *  empty, or if offset + payload exceeds message_length or kMaxMessageLength. */
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Data &data,
              std::span<const uint8_t> payload) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Grant &grant) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Resend &resend) noexcept;
/** Returns 0 if `bare.type` is not one of the four header-only types. */
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Bare &bare) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Cutoffs &cutoffs) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr &addr, const Acks &acks) noexcept;

/** The same frame encoders over IPv6. */
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Data &data,
              std::span<const uint8_t> payload) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Grant &grant) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Resend &resend) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Bare &bare) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Cutoffs &cutoffs) noexcept;
size_t encode(std::span<uint8_t> out, const FrameAddr6 &addr, const Acks &acks) noexcept;

/**
 * Header-only encoders: write just the Homa header (no Ethernet/IPv4) for a frame whose L2/L3
 * the caller adds separately (the engine emits Homa headers; the dataplane adds the rest).
 * Same rules as the frame encoders: bytes written, or 0 (nothing written) when `out` is too
 * small or a field is out of range. encode_header(Data) does not check payload bounds.
 */
size_t encode_header(std::span<uint8_t> out, const Data &data) noexcept;
size_t encode_header(std::span<uint8_t> out, const Grant &grant) noexcept;
size_t encode_header(std::span<uint8_t> out, const Resend &resend) noexcept;
size_t encode_header(std::span<uint8_t> out, const Bare &bare) noexcept;
size_t encode_header(std::span<uint8_t> out, const Cutoffs &cutoffs) noexcept;
size_t encode_header(std::span<uint8_t> out, const Acks &acks) noexcept;

/** Largest DATA payload per frame for an IP MTU: mtu - 20 (IPv4) - 56 (DATA header). */
constexpr uint32_t max_data_payload(uint32_t ip_mtu) noexcept {
    return ip_mtu > sizeof(Ipv4Header) + sizeof(DataHeader)
               ? ip_mtu - static_cast<uint32_t>(sizeof(Ipv4Header) + sizeof(DataHeader))
               : 0;
}
/** The same over IPv6: mtu - 40 (IPv6) - 56 (DATA header). */
constexpr uint32_t max_data_payload6(uint32_t ip_mtu) noexcept {
    return ip_mtu > sizeof(Ipv6Header) + sizeof(DataHeader)
               ? ip_mtu - static_cast<uint32_t>(sizeof(Ipv6Header) + sizeof(DataHeader))
               : 0;
}

}  // namespace homa::wire
