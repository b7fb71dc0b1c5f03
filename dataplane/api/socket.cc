// The v2 socket and message; see homa/v2/socket.h. Thin: the work is in dp::Socket.
#include "homa/v2/socket.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace homa::v2 {

namespace {
// recv_wait adds the timeout to the clock: "forever" is capped far below overflow (146 years).
constexpr uint64_t kLongest = uint64_t{1} << 62;
Error fail(int rc, const char *what) { return Error{rc, std::string(what) + ": " + error_string(rc)}; }
}  // namespace

// The engine hands out errors with either sign (a timeout as +ETIMEDOUT, whatever sign abort
// was given); v2 has one convention.
int Message::error() const noexcept { return -std::abs(m_.error()); }

std::vector<uint8_t> Message::bytes() const {
    std::vector<uint8_t> v(length());
    copy_to(v);
    return v;
}

std::string Message::text() const {
    std::string s(length(), '\0');
    copy_to(std::span(reinterpret_cast<uint8_t *>(s.data()), s.size()));
    return s;
}

int Message::reply(std::span<const uint8_t> body) {
    if (sock_ == nullptr || !is_request()) return -EINVAL;
    return sock_->reply(m_.peer(), m_.id(), body);
}

int Message::reply_self() {
    if (sock_ == nullptr || !is_request() || !m_.valid()) return -EINVAL;
    return sock_->reply_with(std::move(m_));
}

Socket &Socket::operator=(Socket &&o) noexcept {
    if (this != &o) {
        (void)close();
        s_ = std::move(o.s_);
    }
    return *this;
}

Result<uint64_t> Socket::send(const Endpoint &dst, std::span<const uint8_t> msg, uint64_t cookie) {
    if (!s_) return Error{-EBADF, "send: socket is not open"};
    homa::Endpoint e;
    if (!dst.to_engine(&e) || e.port == 0) {
        return Error{-EINVAL, "send: destination " + dst.to_string() + " is not IPv4 with a port"};
    }
    uint64_t id = 0;
    if (int rc = s_->send(e, msg, cookie, &id); rc < 0) return fail(rc, "send");
    return id;
}

Result<Message> Socket::recv(uint32_t flags, uint64_t id, uint64_t timeout_ns) {
    if (!s_) return Error{-EBADF, "recv: socket is not open"};
    if ((flags & (kRecvRequest | kRecvResponse)) == 0) {
        return Error{-EINVAL, "recv: flags need kRecvRequest and/or kRecvResponse"};
    }
    uint32_t kinds = flags & (kRecvRequest | kRecvResponse);
    Message m;
    int rc = (flags & kRecvNonblocking) ? s_->recv(kinds, id, &m.m_)
                                        : s_->recv_wait(kinds, id, &m.m_, std::min(timeout_ns, kLongest));
    if (rc < 0) return fail(rc, "recv");
    m.sock_ = s_.get();
    return m;
}

Result<Message> Socket::call(const Endpoint &dst, std::span<const uint8_t> msg,
                             uint64_t timeout_ns) {
    auto id = send(dst, msg);
    if (!id) return Error{id.error(), id.message()};
    auto m = recv(kRecvResponse, *id, timeout_ns);
    if (!m) {
        (void)s_->abort(*id, 0);  // nobody will collect it: end it here, silently
        return Error{m.error(), "call to " + dst.to_string() + ": " + m.message()};
    }
    if (int rc = m->error(); rc < 0) {
        return Error{rc, "call to " + dst.to_string() + ": the RPC failed: " + error_string(rc)};
    }
    return m;
}

int Socket::reply(const Endpoint &peer, uint64_t id, std::span<const uint8_t> body) {
    if (!s_) return -EBADF;
    homa::Endpoint e;
    if (!peer.to_engine(&e)) return -EINVAL;
    return s_->reply(e, id, body);
}

int Socket::abort(uint64_t id, int error) {
    if (!s_) return -EBADF;
    return s_->abort(id, -std::abs(error));
}

int Socket::close() {
    if (!s_) return -EBADF;
    int rc = s_->close();
    s_.reset();
    return rc;
}

Endpoint Socket::local_addr() const noexcept {
    return s_ ? Endpoint::from_engine(s_->local_addr()) : Endpoint();
}

}  // namespace homa::v2
