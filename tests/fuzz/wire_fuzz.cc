// libFuzzer target: decode_frame must never read out of bounds, crash or hang on any input,
// whatever it accepts must satisfy the invariants it promises, and its shortcut for the
// common DATA frame must answer as decode_frame_general does, with the same view.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "homa/proto/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace homa::wire;
    PacketView v;
    DecodeError e = decode_frame({data, size}, v);
    PacketView g;
    if (decode_frame_general({data, size}, g) != e) abort();
    if (e == DecodeError::kOk &&
        (&g.common() != &v.common() || g.is_ipv6() != v.is_ipv6() ||
         g.homa_offset() != v.homa_offset() || g.vlan_tci() != v.vlan_tci() ||
         g.payload().data() != v.payload().data() || g.payload().size() != v.payload().size())) {
        abort();
    }
    if (e == DecodeError::kOk) {
        // Accepted packets: header and payload lie inside the input, sizes are consistent.
        size_t hsize = header_size(v.common().type);
        if (hsize == 0 || v.homa_offset() + hsize > size) abort();
        if (v.is_ipv6()) {
            // The IPv6 header lies inside the input and says version 6, and Homa starts after
            // it (after any skipped extension headers).
            const auto *ip6 = reinterpret_cast<const uint8_t *>(&v.ip6());
            if (ip6 < data || ip6 + sizeof(Ipv6Header) > data + size) abort();
            if ((v.ip6().vtc_flow.get() >> 28) != 6) abort();
            if (data + v.homa_offset() < ip6 + sizeof(Ipv6Header)) abort();
            if (v.ip6().payload_length.get() == 0) abort();
            if (v.ip_priority() > kMaxPriority || v.flow_label() > kIpv6FlowLabelMask) abort();
        } else if ((v.ip().version_ihl >> 4) != 4) {
            abort();
        }
        if (const DataHeader *d = v.data()) {
            if (v.payload().empty()) abort();
            if (v.payload().data() + v.payload().size() > data + size) abort();
            if (uint64_t{d->seg_offset.get()} + v.payload().size() > d->message_length.get()) {
                abort();
            }
        }
        if (const AckHeader *a = v.ack(); a && a->num_acks.get() > kMaxAcks) abort();
    } else if (static_cast<size_t>(e) >= kNumDecodeErrors) {
        abort();
    }
    return 0;
}
