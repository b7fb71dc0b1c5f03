// libFuzzer target: decode_frame must never read out of bounds, crash or hang on any input,
// and whatever it accepts must satisfy the invariants it promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "homa/proto/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace homa::wire;
    PacketView v;
    DecodeError e = decode_frame({data, size}, v);
    if (e == DecodeError::kOk) {
        // Accepted packets: header and payload lie inside the input, sizes are consistent.
        size_t hsize = header_size(v.common().type);
        if (hsize == 0 || v.homa_offset() + hsize > size) abort();
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
