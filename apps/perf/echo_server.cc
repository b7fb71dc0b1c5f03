// See echo_server.h.
#include "echo_server.h"

#include <algorithm>
#include <cerrno>

namespace homa::perf {
namespace {

// Failures that say "not now" (a pool, a port or the send slots are full): retry later.
bool transient(int rc) {
    return rc == -ENOBUFS || rc == -ENOMEM || rc == -EAGAIN || rc == -ETIMEDOUT;
}

}  // namespace

std::string ServerStats::describe() const {
    std::string out = "served " + std::to_string(served);
    out += "; reply failures: " + reply_errors.describe();
    if (reply_errors.total() || retried || stranded) {
        out += " (retried ok " + std::to_string(retried) + ", RPC gone " + std::to_string(gone) +
               ", stranded " + std::to_string(stranded) + ", retry queue max " +
               std::to_string(retry_queue_max) + ")";
    }
    if (held_back) out += "; polls held back, every send slot busy: " + std::to_string(held_back);
    return out;
}

EchoServer::EchoServer(const uint8_t *pattern, uint32_t send_slots, uint32_t retry_capacity)
    : pattern_(pattern), send_slots_(send_slots), ring_(std::max<uint32_t>(retry_capacity, 1)) {}

void EchoServer::failed(int rc, Endpoint peer, uint64_t id, uint32_t length) {
    stats_.reply_errors.add(rc);
    if (rc == -ENOENT) {
        ++stats_.gone;  // the RPC is no longer waiting for a reply: nothing left in service
        return;
    }
    if (size_ == ring_.size() || pattern_ == nullptr) {
        ++stats_.stranded;
        return;
    }
    ring_[(head_ + size_) % ring_.size()] = {peer, id, length};
    ++size_;
    stats_.retry_queue_max = std::max<uint64_t>(stats_.retry_queue_max, size_);
}

template <typename Sock>
uint32_t EchoServer::retry(Sock &s) {
    uint32_t done = 0;
    while (size_) {
        PendingReply &p = ring_[head_];
        int rc = s.reply(p.peer, p.id, {pattern_, p.length});
        if (rc != 0 && transient(rc)) break;  // still full: keep the order, try next poll
        if (rc == 0) {
            ++stats_.served;
            ++stats_.retried;
        } else {
            stats_.reply_errors.add(rc);
            if (rc == -ENOENT) {
                ++stats_.gone;
            } else {
                ++stats_.stranded;
            }
        }
        head_ = (head_ + 1) % ring_.size();
        --size_;
        ++done;
    }
    return done;
}

uint32_t EchoServer::serve(dp::Socket &s) {
    uint32_t n = retry(s);
    dp::Worker *w = s.worker();
    for (;;) {
        if (send_slots_ && w->sends_in_flight() >= send_slots_) {
            ++stats_.held_back;
            break;
        }
        dp::RecvMessage req;
        if (s.recv(kRecvRequest, 0, &req) != 0) break;
        answer(s, std::move(req));
        ++n;
    }
    return n;
}

void EchoServer::answer(dp::RemoteSocket &s, dp::RecvMessage &&req) {
    Endpoint peer = req.peer();
    uint64_t id = req.id();
    uint32_t length = req.length();
    int rc = s.post_reply_with(std::move(req));
    if (rc == 0) {
        ++stats_.served;
        return;
    }
    if (rc == -ENOBUFS && req.valid()) {  // still ours: wait for the worker this once
        answer<dp::RemoteSocket, dp::RecvMessage>(s, std::move(req));
        return;
    }
    failed(rc, peer, id, length);
}

void EchoServer::collect_async_errors(const dp::RemoteSocket &s) {
    const auto &st = s.stats();
    // The worker's refusals of posted replies arrive later and without their RPC, so they
    // cannot be retried: counted by the last errno (in practice -ENOENT, the RPC is gone).
    for (; async_errors_seen_ < st.async_reply_errors; ++async_errors_seen_) {
        stats_.reply_errors.add(st.last_async_reply_error);
        if (st.last_async_reply_error == -ENOENT) {
            ++stats_.gone;
        } else {
            ++stats_.stranded;
        }
    }
}

uint32_t EchoServer::serve(dp::RemoteSocket &s) {
    uint32_t n = retry(s);
    dp::RecvMessage req;
    while (s.recv(kRecvRequest | dp::kRecvNonblocking, 0, &req) == 0) {
        answer(s, std::move(req));
        ++n;
    }
    collect_async_errors(s);
    return n;
}

}  // namespace homa::perf
