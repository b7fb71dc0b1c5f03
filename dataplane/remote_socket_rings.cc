// RemoteSocket's two rings, application side: messages and refusals come in through the
// answer ring, sends and replies go out through the request ring (handoff_ring.h; the worker's
// side is socket_service.cc).
#include <cerrno>
#include <cstring>

#include "homa/mem/bpage_pool.h"
#include "remote_commands.h"
#include "remote_socket_impl.h"

namespace homa::dp {

using State = RemoteSocket::Slot::State;

// Moves messages from the answer ring into slots (kReady) while fewer than recv_credits are
// ready and a slot is free; what stays in the ring waits for a later call. The worker learns
// of the room once per call, not per message.
unsigned RemoteSocket::take_answers() noexcept {
    if (rings_ == nullptr || rings_->answers.ring == nullptr) return 0;  // open failed
    Consumer<Answer> &ring = rings_->answers;
    unsigned n = 0;
    while (num_ready_ < cfg_.recv_credits && free_ != nullptr) {
        const Answer *a = ring.peek();
        if (a == nullptr) break;
        ring.prefetch_ahead(kPrefetchDistance, 1, n == 0);
        ring.pop();
        ++n;
        if (a->kind == Answer::kReplyFailed) {  // nobody waits for it: counted by errno
            ++stats_.async_reply_errors;
            stats_.last_async_reply_error = a->error;
            continue;
        }
        Slot *slot = free_;
        free_ = slot->next_free;
        --free_count_;
        homa::Message &m = slot->data;
        m.id = a->id;
        m.cookie = a->cookie;
        m.peer = {a->peer_ip, a->peer_port};
        m.error = a->error;
        m.length = a->length;
        m.num_bpages = get_bpages(a->num_bpages, a->first_bpage, a->bpages, m.bpage_offsets);
        if (a->kind == Answer::kSendFailed) ++stats_.async_errors;  // handed out by recv
        slot->state = State::kReady;
        ready_push(slot);
        HOMA_TT(cfg_.trace, "app answer id %u length %u handle %u", static_cast<uint32_t>(m.id),
                m.length, handle_);
    }
    if (n > 0) ring.release();
    return n;
}

// True if the request ring can take one more; counts a refusal as backpressure.
bool RemoteSocket::request_room() noexcept {
    if (rings_->requests.has_room()) return true;
    ++stats_.backpressure;
    return false;
}

// The next request entry with its header filled: a send (op kRemoteSend, with its cookie) or
// a reply (kRemoteReply, with the request's id) of `length` bytes. The caller has checked
// request_room(), fills the body and calls publish_request().
Request &RemoteSocket::request_entry(uint16_t op, Endpoint dst, uint64_t cookie_or_id,
                                     uint32_t length) noexcept {
    Request &r = rings_->requests.ring->at(rings_->requests.next);
    r.op = op;
    r.peer_ip = dst.ip;
    r.peer_port = dst.port;
    r.cookie_or_id = cookie_or_id;
    r.length = length;
    return r;
}

void RemoteSocket::publish_request(const Request &r) noexcept {
    HOMA_TT(cfg_.trace, "app queued op 0x%x id %u length %u handle %u", r.op,
            static_cast<uint32_t>(r.cookie_or_id), r.length, handle_);
    rings_->requests.push();
    rings_->requests.prefetch_ahead(kPrefetchDistance, kRequestLines);
    ++stats_.commands;
}

// Queues a send or reply of the message in `m`'s bpages; the worker owns them once it takes
// the entry.
int RemoteSocket::queue_request(uint16_t op, Endpoint dst, uint64_t cookie_or_id,
                                const homa::Message &m) noexcept {
    Request &r = request_entry(op, dst, cookie_or_id, m.length);
    r.num_bpages = m.num_bpages;
    put_bpages(m.bpage_offsets, m.num_bpages, &r.first_bpage, &r.bpages);
    publish_request(r);
    return 0;
}

// queue_request() of a message short enough to travel in the entry (Request::kInlineMax):
// the worker copies it into bpages of its own cache.
int RemoteSocket::queue_inline(Endpoint dst, uint64_t cookie,
                               std::span<const uint8_t> msg) noexcept {
    Request &r = request_entry(kRemoteSend, dst, cookie, static_cast<uint32_t>(msg.size()));
    r.num_bpages = 0;
    std::memcpy(r.inline_data, msg.data(), msg.size());
    publish_request(r);
    return 0;
}

// After the close is answered: requests the worker never took (it took none while the answer
// ring was full) are still ours; their bpages go back to the pool.
void RemoteSocket::release_unsent_requests() noexcept {
    Producer<Request> &ring = rings_->requests;
    for (uint32_t pos = ring.ring->consumed.load(std::memory_order_acquire); pos != ring.next;
         ++pos) {
        const Request &r = ring.ring->at(pos);
        uint32_t offsets[wire::kMaxBpages];
        uint32_t n = get_bpages(r.num_bpages, r.first_bpage, r.bpages, offsets);
        if (n > 0) pool_->release(offsets, n, cfg_.pool_cache);
    }
    ring.room_until = ring.next = ring.ring->consumed.load(std::memory_order_relaxed);
}

}  // namespace homa::dp
