/**
 * @file
 * The Homa wire format, byte for byte compatible with the Linux module (homa_wire.h).
 *
 * Every struct here is packed, every multi-byte field is a network-order `Be<T>`, and every
 * size and field offset is checked by a static_assert against the tables in docs/wire.md, so a
 * layout mistake is a compile error rather than an interoperability bug.
 *
 * Usage: overlay a header on validated frame bytes (see decode.h) or fill one through the
 * encoders (see encode.h); never build these by hand on the datapath.
 *
 * Threading: plain data, no shared state. Errors: none (validation lives in decode.h).
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "homa/proto/byte_order.h"

namespace homa::wire {

/** IP protocol number of Homa (IPPROTO_HOMA). The legacy 253 is deliberately not accepted. */
inline constexpr uint8_t kIpProtoHoma = 146;

/** Largest message Homa carries, in bytes. */
inline constexpr uint32_t kMaxMessageLength = 1'000'000;
/** bpage geometry: 64 KiB pages, at most 16 per message. */
inline constexpr uint32_t kBpageShift = 16;
inline constexpr uint32_t kBpageSize = 1u << kBpageShift;
inline constexpr uint32_t kMaxBpages = 16;
/** Number of priority levels (TOS bits 7..5). */
inline constexpr uint8_t kNumPriorities = 8;
inline constexpr uint8_t kMaxPriority = kNumPriorities - 1;
/** At most this many acks travel in one ACK packet. */
inline constexpr uint16_t kMaxAcks = 5;
/** RESEND length meaning "everything from offset on". */
inline constexpr uint32_t kResendAll = 0xFFFFFFFFu;
/** First port of the client (ephemeral) range; server ports are below it. */
inline constexpr uint16_t kFirstClientPort = 0x8000;

/** Linux's default unscheduled cutoffs: index = priority, value = largest message length
 *  sent unscheduled at that priority (priority 7 <= 200 B, 6 <= 2,800 B, 5 <= 15,000 B,
 *  4 for everything larger, 3..0 unused for unscheduled data). */
inline constexpr std::array<uint32_t, kNumPriorities> kDefaultUnschedCutoffs = {
    0, 0, 0, 0, 0xFFFFFFFFu, 15'000, 2'800, 200};

/**
 * Homa packet types.
 *
 * When adding a type: add its header struct and static_asserts below, its size to
 * header_size(), an encoder in encode.h, a view accessor and validation in decode.h, a
 * golden-bytes test in tests/proto, a seed in tests/fuzz/corpus, and a counter name.
 */
enum class PacketType : uint8_t {
    kData = 0x10,
    kGrant = 0x11,
    kResend = 0x12,
    kRpcUnknown = 0x13,
    kBusy = 0x14,
    kCutoffs = 0x15,
    kFreeze = 0x16,
    kNeedAck = 0x17,
    kAck = 0x18,
};
inline constexpr uint8_t kFirstPacketType = 0x10;
inline constexpr uint8_t kLastPacketType = 0x18;

/** The 28-byte header that starts every Homa packet (TCP-shaped for NIC offloads). */
struct [[gnu::packed]] CommonHeader {
    Be<uint16_t> sport;
    Be<uint16_t> dport;
    Be<uint32_t> sequence;   ///< DATA: offset of the first payload byte; otherwise 0.
    uint8_t ack[3];          ///< Unused, 0.
    uint8_t type;            ///< A PacketType value.
    uint8_t doff;            ///< High nibble: header length in 4-byte words.
    uint8_t flags;           ///< 0.
    Be<uint16_t> window;     ///< 0.
    Be<uint16_t> checksum;   ///< 0 (only set by Linux when disguising Homa as TCP).
    Be<uint16_t> urgent;     ///< 0.
    Be<uint64_t> sender_id;  ///< RPC id as its sender knows it.
};
static_assert(sizeof(CommonHeader) == 28);
static_assert(offsetof(CommonHeader, sport) == 0);
static_assert(offsetof(CommonHeader, dport) == 2);
static_assert(offsetof(CommonHeader, sequence) == 4);
static_assert(offsetof(CommonHeader, ack) == 8);
static_assert(offsetof(CommonHeader, type) == 11);
static_assert(offsetof(CommonHeader, doff) == 12);
static_assert(offsetof(CommonHeader, flags) == 13);
static_assert(offsetof(CommonHeader, window) == 14);
static_assert(offsetof(CommonHeader, checksum) == 16);
static_assert(offsetof(CommonHeader, urgent) == 18);
static_assert(offsetof(CommonHeader, sender_id) == 20);

/** doff values: DATA's header is 56 bytes (14 words), every other type's is 5 words. */
inline constexpr uint8_t kDataDoff = (56 / 4) << 4;
inline constexpr uint8_t kControlDoff = 5 << 4;

/** One acknowledgement of a completed RPC: the client's id and the server's port. */
struct [[gnu::packed]] AckEntry {
    Be<uint64_t> client_id;
    Be<uint16_t> server_port;
};
static_assert(sizeof(AckEntry) == 10);
static_assert(offsetof(AckEntry, client_id) == 0);
static_assert(offsetof(AckEntry, server_port) == 8);

struct [[gnu::packed]] DataHeader {
    CommonHeader common;
    Be<uint32_t> message_length;
    Be<uint32_t> incoming;  ///< Bytes the sender will send without further grants.
    AckEntry ack;           ///< Piggy-backed ack of an earlier RPC; all zero if none.
    Be<uint16_t> cutoff_version;
    uint8_t retransmit;  ///< 1 if sent in answer to RESEND.
    uint8_t pad[3];
    Be<uint32_t> seg_offset;  ///< Offset of this packet's payload in the message.
};
static_assert(sizeof(DataHeader) == 56);
static_assert(offsetof(DataHeader, message_length) == 28);
static_assert(offsetof(DataHeader, incoming) == 32);
static_assert(offsetof(DataHeader, ack) == 36);
static_assert(offsetof(DataHeader, cutoff_version) == 46);
static_assert(offsetof(DataHeader, retransmit) == 48);
static_assert(offsetof(DataHeader, pad) == 49);
static_assert(offsetof(DataHeader, seg_offset) == 52);

struct [[gnu::packed]] GrantHeader {
    CommonHeader common;
    Be<uint32_t> offset;  ///< The sender may now send bytes up to (not including) this offset.
    uint8_t priority;     ///< Priority for the newly granted bytes.
};
static_assert(sizeof(GrantHeader) == 33);
static_assert(offsetof(GrantHeader, offset) == 28);
static_assert(offsetof(GrantHeader, priority) == 32);

struct [[gnu::packed]] ResendHeader {
    CommonHeader common;
    Be<uint32_t> offset;
    Be<uint32_t> length;  ///< kResendAll = everything from offset on.
    uint8_t priority;
};
static_assert(sizeof(ResendHeader) == 37);
static_assert(offsetof(ResendHeader, offset) == 28);
static_assert(offsetof(ResendHeader, length) == 32);
static_assert(offsetof(ResendHeader, priority) == 36);

/** RPC_UNKNOWN, BUSY, FREEZE and NEED_ACK carry nothing after the common header. */
struct [[gnu::packed]] RpcUnknownHeader {
    CommonHeader common;
};
struct [[gnu::packed]] BusyHeader {
    CommonHeader common;
};
struct [[gnu::packed]] FreezeHeader {
    CommonHeader common;
};
struct [[gnu::packed]] NeedAckHeader {
    CommonHeader common;
};
static_assert(sizeof(RpcUnknownHeader) == 28 && sizeof(BusyHeader) == 28);
static_assert(sizeof(FreezeHeader) == 28 && sizeof(NeedAckHeader) == 28);

struct [[gnu::packed]] CutoffsHeader {
    CommonHeader common;
    Be<uint32_t> unsched_cutoffs[kNumPriorities];
    Be<uint16_t> cutoff_version;
};
static_assert(sizeof(CutoffsHeader) == 62);
static_assert(offsetof(CutoffsHeader, unsched_cutoffs) == 28);
static_assert(offsetof(CutoffsHeader, cutoff_version) == 60);

struct [[gnu::packed]] AckHeader {
    CommonHeader common;
    Be<uint16_t> num_acks;
    AckEntry acks[kMaxAcks];
};
static_assert(sizeof(AckHeader) == 80);
static_assert(offsetof(AckHeader, num_acks) == 28);
static_assert(offsetof(AckHeader, acks) == 30);

/** True if `type` is one of the nine known packet types. */
constexpr bool is_known_type(uint8_t type) noexcept {
    return type >= kFirstPacketType && type <= kLastPacketType;
}

/** Header size of a known packet type (0 for an unknown one). */
constexpr size_t header_size(uint8_t type) noexcept {
    switch (static_cast<PacketType>(type)) {
        case PacketType::kData: return sizeof(DataHeader);
        case PacketType::kGrant: return sizeof(GrantHeader);
        case PacketType::kResend: return sizeof(ResendHeader);
        case PacketType::kRpcUnknown: return sizeof(RpcUnknownHeader);
        case PacketType::kBusy: return sizeof(BusyHeader);
        case PacketType::kCutoffs: return sizeof(CutoffsHeader);
        case PacketType::kFreeze: return sizeof(FreezeHeader);
        case PacketType::kNeedAck: return sizeof(NeedAckHeader);
        case PacketType::kAck: return sizeof(AckHeader);
    }
    return 0;
}

/** Expected doff byte for a packet type. */
constexpr uint8_t expected_doff(PacketType type) noexcept {
    return type == PacketType::kData ? kDataDoff : kControlDoff;
}

/** Short lower-case name of a packet type ("data", "grant", …; "unknown" otherwise). */
const char *packet_type_name(uint8_t type) noexcept;

}  // namespace homa::wire
