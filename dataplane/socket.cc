// The run-to-completion socket API; see socket.h.
#include "homa/dataplane/socket.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "homa/dataplane/socket_service.h"
#include "homa/mem/bpage_pool.h"

namespace homa::dp {

// ----- Socket -----

int Socket::open(Worker &worker, uint16_t port, Socket *out) {
    if (out == nullptr) return -EINVAL;
    SocketId id;
    if (int rc = worker.engine().open_socket(port, &id); rc < 0) return rc;
    out->worker_ = &worker;
    out->id_ = id;
    return 0;
}

namespace {

// A message short enough for the engine to keep its own copy: no pool bpages, no send slot.
bool copied(std::span<const uint8_t> msg, OutMessage *out) {
    if (msg.empty() || msg.size() > OutMessage::kCopyMax) return false;
    *out = OutMessage::contiguous(msg.data(), static_cast<uint32_t>(msg.size()));
    out->copy = true;
    return true;
}

}  // namespace

int Socket::send_pool(Endpoint /*dst*/, std::span<const uint8_t> msg, OutMessage *out) {
    if (msg.empty()) return -EINVAL;
    if (msg.size() > wire::kMaxMessageLength) return -EMSGSIZE;
    uint32_t len = static_cast<uint32_t>(msg.size());
    uint32_t offsets[wire::kMaxBpages];
    mem::BpagePool &pool = worker_->pool();
    int n = pool.alloc_message(len, worker_->pool_cache(), offsets);
    if (n < 0) return n == -ENOMEM ? -ENOBUFS : n;
    for (int i = 0; i < n; ++i) {
        uint32_t chunk = std::min<uint32_t>(wire::kBpageSize, len - i * wire::kBpageSize);
        std::memcpy(pool.base() + offsets[i], msg.data() + size_t(i) * wire::kBpageSize, chunk);
    }
    int rc = worker_->register_pool_send(offsets, uint32_t(n), len, nullptr, nullptr, 0, out);
    if (rc < 0) {
        pool.release(offsets, uint32_t(n), worker_->pool_cache());
        return -ENOBUFS;
    }
    return 0;
}

int Socket::send(Endpoint dst, std::span<const uint8_t> msg, uint64_t cookie, uint64_t *id) {
    if (worker_ == nullptr) return -EBADF;
    OutMessage out;
    if (copied(msg, &out)) {
        return worker_->engine().send_request(id_, dst, out, cookie, worker_->poll_time_ns(), id);
    }
    if (int rc = send_pool(dst, msg, &out); rc < 0) return rc;
    int rc = worker_->engine().send_request(id_, dst, out, cookie, worker_->poll_time_ns(), id);
    if (rc < 0) worker_->cancel_send(out);
    return rc;
}

int Socket::send_zc(Endpoint dst, const void *data, uint32_t length, uint64_t cookie, uint64_t *id,
                    SendDone done, void *ctx) {
    if (worker_ == nullptr) return -EBADF;
    if (length == 0 || data == nullptr) return -EINVAL;
    if (length > wire::kMaxMessageLength) return -EMSGSIZE;
    OutMessage out;
    if (worker_->register_send(OutMessage::contiguous(data, length), done, ctx, cookie, &out) < 0) {
        return -ENOBUFS;
    }
    int rc = worker_->engine().send_request(id_, dst, out, cookie, worker_->poll_time_ns(), id);
    if (rc < 0) worker_->cancel_send(out);
    return rc;
}

int Socket::send_region(SocketService &service, Endpoint dst, const void *data, uint32_t length,
                        uint64_t cookie, uint64_t *id, SendDone done, void *ctx) {
    if (worker_ == nullptr || &service.worker() != worker_) return -EBADF;
    int rc = service.send_region(id_, dst, data, length, cookie, id, done, ctx);
    if (rc == 0) service_ = &service;
    return rc;
}

int Socket::recv(uint32_t flags, uint64_t id, RecvMessage *out) {
    if (worker_ == nullptr) return -EBADF;
    if (out == nullptr) return -EINVAL;
    if (!out->valid()) {
        // Filled in place: Engine::recv writes every field on success and none on failure, so
        // an empty `out` (what a receive loop passes) needs no zeroed scratch message (a
        // 112-byte `rep stos`) and no copy.
        if (int rc = worker_->engine().recv(id_, flags, id, &out->m_); rc < 0) return rc;
        out->pool_ = &worker_->pool();
        out->cache_ = worker_->pool_cache();
        return 0;
    }
    homa::Message m;
    if (int rc = worker_->engine().recv(id_, flags, id, &m); rc < 0) return rc;
    out->adopt(&worker_->pool(), worker_->pool_cache(), m);
    return 0;
}

int Socket::recv_wait(uint32_t flags, uint64_t id, RecvMessage *out, uint64_t timeout_ns) {
    if (worker_ == nullptr) return -EBADF;
    uint64_t deadline = worker_->now_ns() + timeout_ns;
    for (;;) {
        int rc = recv(flags, id, out);
        if (rc != -EAGAIN) return rc;
        if (worker_->now_ns() >= deadline) return -ETIMEDOUT;
        worker_->poll();
    }
}

int Socket::reply(Endpoint dst, uint64_t id, std::span<const uint8_t> msg) {
    if (worker_ == nullptr) return -EBADF;
    OutMessage out;
    if (copied(msg, &out)) {
        return worker_->engine().send_reply(id_, dst, id, out, worker_->poll_time_ns());
    }
    if (int rc = send_pool(dst, msg, &out); rc < 0) return rc;
    int rc = worker_->engine().send_reply(id_, dst, id, out, worker_->poll_time_ns());
    if (rc < 0) worker_->cancel_send(out);
    return rc;
}

int Socket::reply_with(RecvMessage &&msg, Endpoint dst, uint64_t request_id) {
    if (worker_ == nullptr) return -EBADF;
    if (!msg.valid() || msg.m_.num_bpages == 0) return -EINVAL;
    if (msg.pool_ != &worker_->pool()) {  // its bpages are not this worker's to send
        msg.release();
        return -EINVAL;
    }
    if (request_id == 0) {
        request_id = msg.id();
        dst = msg.peer();
    }
    OutMessage out;
    if (worker_->copy_pool_send(msg.m_.bpage_offsets, msg.m_.num_bpages, msg.length(), &out)) {
        int rc = worker_->engine().send_reply(id_, dst, request_id, out, worker_->poll_time_ns());
        msg.release();  // the engine has its copy (or refused: consumed either way, as below)
        return rc;
    }
    int rc = worker_->register_pool_send(msg.m_.bpage_offsets, msg.m_.num_bpages, msg.length(),
                                         nullptr, nullptr, 0, &out);
    if (rc < 0) return -ENOBUFS;  // msg untouched: the caller may retry
    msg.disown();                 // the bpages now belong to the send slot
    rc = worker_->engine().send_reply(id_, dst, request_id, out, worker_->poll_time_ns());
    if (rc < 0) worker_->cancel_send(out);
    return rc;
}

int Socket::reply_region(SocketService &service, Endpoint dst, uint64_t request_id,
                         std::span<const uint8_t> header, const void *data, uint32_t length,
                         uint64_t cookie, RegionReplyDone done, void *ctx) {
    if (worker_ == nullptr || &service.worker() != worker_) return -EBADF;
    int rc = service.reply_region(id_, dst, request_id, header, data, length, cookie, done, ctx);
    if (rc == 0) service_ = &service;
    return rc;
}

int Socket::abort(uint64_t id, int error) {
    if (worker_ == nullptr) return -EBADF;
    int regions = service_ ? service_->abort_regions(id_, id, error) : 0;
    int rc = worker_->engine().abort(id_, id, error, worker_->poll_time_ns());
    // A region reply's id is a server id, which the engine's abort refuses (-EINVAL).
    return rc < 0 && regions > 0 ? 0 : rc;
}

int Socket::close() {
    if (worker_ == nullptr) return -EBADF;
    if (service_) service_->abort_regions(id_, 0, 0);
    int rc = worker_->engine().close_socket(id_, worker_->poll_time_ns());
    worker_ = nullptr;
    return rc;
}

Endpoint Socket::local_addr() const noexcept {
    if (worker_ == nullptr) return {};
    return {worker_->local_address(), worker_->engine().socket_port(id_)};
}

}  // namespace homa::dp
