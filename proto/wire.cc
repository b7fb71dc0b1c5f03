// Names of packet types and the Internet checksum: small pieces shared by encode and decode.
#include "homa/proto/frame.h"
#include "homa/proto/wire.h"

namespace homa::wire {

const char *packet_type_name(uint8_t type) noexcept {
    switch (static_cast<PacketType>(type)) {
        case PacketType::kData: return "data";
        case PacketType::kGrant: return "grant";
        case PacketType::kResend: return "resend";
        case PacketType::kRpcUnknown: return "rpc_unknown";
        case PacketType::kBusy: return "busy";
        case PacketType::kCutoffs: return "cutoffs";
        case PacketType::kFreeze: return "freeze";
        case PacketType::kNeedAck: return "need_ack";
        case PacketType::kAck: return "ack";
    }
    return "unknown";
}

uint16_t internet_checksum(std::span<const uint8_t> bytes) noexcept {
    // Sum 16-bit big-endian words; the header is at most 60 bytes so 32 bits cannot overflow
    // before folding, but longer inputs are folded as they go to stay correct for any size.
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += static_cast<uint32_t>(bytes[i]) << 8 | bytes[i + 1];
    }
    if (i < bytes.size()) sum += static_cast<uint32_t>(bytes[i]) << 8;
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xFFFF);
}

}  // namespace homa::wire
