// Reading a received message out of its bpages (shared by every socket flavour).
#include <algorithm>
#include <cstring>

#include "homa/proto/engine.h"

namespace homa {

std::span<const uint8_t> message_piece(const uint8_t *pool_base, const Message &m,
                                       uint32_t i) noexcept {
    if (i >= m.num_bpages || uint64_t{i} * wire::kBpageSize >= m.length) return {};
    uint32_t len = std::min<uint32_t>(wire::kBpageSize, m.length - i * wire::kBpageSize);
    return {pool_base + m.bpage_offsets[i], len};
}

size_t message_copy(const uint8_t *pool_base, const Message &m, std::span<uint8_t> out,
                    uint32_t offset) noexcept {
    size_t copied = 0;
    while (copied < out.size() && offset < m.length) {
        auto pc = message_piece(pool_base, m, offset >> wire::kBpageShift);
        if (pc.empty()) break;
        uint32_t within = offset & (wire::kBpageSize - 1);
        size_t n = std::min(out.size() - copied, pc.size() - within);
        std::memcpy(out.data() + copied, pc.data() + within, n);
        copied += n;
        offset += static_cast<uint32_t>(n);
    }
    return copied;
}

}  // namespace homa
