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

void EchoServer::failed(int rc, const v2::SocketAddress &peer, uint64_t id, uint32_t length) {
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

uint32_t EchoServer::retry(v2::Socket &s) {
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

void EchoServer::answer(v2::Message &&req) {
    const v2::SocketAddress peer = req.peer();
    const uint64_t id = req.id();
    const uint32_t length = req.length();
    int rc = req.reply_self();
    if (rc == 0) {
        ++stats_.served;
    } else {
        failed(rc, peer, id, length);
    }
}

uint32_t EchoServer::serve_burst(v2::Socket &s) {
    uint32_t n = 0;
    // After a call that found one request or none, the first is answered before looking for
    // a second: a burst would make it wait for one more poll of the reply ring, and with one
    // RPC in flight there is never a second.
    unsigned want = busy_ ? kBurst : 1;
    for (;;) {
        unsigned k = 0;
        while (k < want && s.try_recv(kRecvRequest, &burst_[k]) == 0) ++k;
        for (unsigned off = 0; off < k;) {
            // Only the first of a call can fail (the call stops there): what to retry it with.
            const v2::SocketAddress peer = burst_[off].peer();
            const uint64_t id = burst_[off].id();
            const uint32_t length = burst_[off].length();
            int rc = s.reply_self_burst({burst_ + off, k - off});
            if (rc > 0) {
                stats_.served += static_cast<uint64_t>(rc);
                off += static_cast<unsigned>(rc);
                continue;
            }
            if (rc == -ENOBUFS) {
                answer(std::move(burst_[off]));  // still ours: wait for the worker this once
            } else {
                failed(rc, peer, id, length);
            }
            ++off;
        }
        n += k;
        if (k < want) break;
        want = kBurst;
    }
    busy_ = n > 1;
    return n;
}

void EchoServer::collect_async_errors(const v2::Socket &s) {
    const v2::Socket::AsyncReplyErrors errors = s.async_reply_errors();
    // The worker's refusals of posted replies arrive later and without their RPC, so they
    // cannot be retried: counted by the last errno (in practice -ENOENT, the RPC is gone).
    for (; async_errors_seen_ < errors.count; ++async_errors_seen_) {
        stats_.reply_errors.add(errors.last);
        if (errors.last == -ENOENT) {
            ++stats_.gone;
        } else {
            ++stats_.stranded;
        }
    }
}

uint32_t EchoServer::serve(v2::Socket &s) {
    uint32_t n = retry(s);
    if (s.is_app_thread_socket()) {
        n += serve_burst(s);
        collect_async_errors(s);
        return n;
    }
    for (;;) {
        if (send_slots_ && s.worker_sends_in_flight() >= send_slots_) {
            ++stats_.held_back;
            break;
        }
        v2::Message req;
        if (s.try_recv(kRecvRequest, &req) != 0) break;
        answer(std::move(req));
        ++n;
    }
    return n;
}

}  // namespace homa::perf
