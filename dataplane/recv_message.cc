// A received message of either socket API; see recv_message.h.
#include "homa/dataplane/recv_message.h"

#include "homa/mem/bpage_pool.h"

namespace homa::dp {

RecvMessage::RecvMessage(RecvMessage &&o) noexcept : pool_(o.pool_), cache_(o.cache_), m_(o.m_) {
    o.pool_ = nullptr;
}

RecvMessage &RecvMessage::operator=(RecvMessage &&o) noexcept {
    if (this != &o) {
        release();
        pool_ = o.pool_;
        cache_ = o.cache_;
        m_ = o.m_;
        o.pool_ = nullptr;
    }
    return *this;
}

std::span<const uint8_t> RecvMessage::piece(uint32_t i) const noexcept {
    if (!valid()) return {};
    return message_piece(pool_->base(), m_, i);
}

size_t RecvMessage::copy_to(std::span<uint8_t> out, uint32_t offset) const noexcept {
    if (!valid()) return 0;
    return message_copy(pool_->base(), m_, out, offset);
}

void RecvMessage::release() noexcept {
    if (pool_ && m_.num_bpages) pool_->release(m_.bpage_offsets, m_.num_bpages, cache_);
    disown();
}

homa::Message RecvMessage::detach() noexcept {
    homa::Message m = m_;
    disown();  // the bpages are the caller's now: release() must not free them
    return m;
}

}  // namespace homa::dp
