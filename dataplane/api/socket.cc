// The v2 socket and message; see homa/v2/socket.h. Thin: the work is in dp::Socket.
#include "homa/v2/socket.h"

#include "homa/dataplane/msgport.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace homa::v2 {

namespace {
// recv_wait adds the timeout to the clock: "forever" is capped far below overflow (146 years).
constexpr uint64_t kLongest = uint64_t{1} << 62;
Error fail(int rc, const char *what) {
    return Error{rc, std::string(what) + ": " + error_string(rc)};
}
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
    if (!is_request()) return -EINVAL;
    if (rsock_) return rsock_->reply(m_.peer(), m_.id(), body);
    return sock_ ? sock_->reply(m_.peer(), m_.id(), body) : -EINVAL;
}

int Message::reply_self() {
    if (!is_request()) return -EINVAL;
    if (!m_.valid()) return -EINVAL;
    if (rsock_) return rsock_->reply_with(std::move(m_));
    return sock_ ? sock_->reply_with(std::move(m_)) : -EINVAL;
}

int Message::reply_self_async() {
    if (!is_request()) return -EINVAL;
    if (!m_.valid()) return -EINVAL;
    if (rsock_) return rsock_->post_reply_with(std::move(m_));
    return sock_ ? sock_->reply_with(std::move(m_)) : -EINVAL;
}

Socket &Socket::operator=(Socket &&o) noexcept {
    if (this != &o) {
        (void)close();
        s_ = std::move(o.s_);
        r_ = std::move(o.r_);
    }
    return *this;
}

Result<uint64_t> Socket::send(const SocketAddress &dst, std::span<const uint8_t> msg,
                              uint64_t cookie) {
    if (!is_open()) return Error{-EBADF, "send: socket is not open"};
    homa::Endpoint e;
    if (!dst.to_engine(&e) || e.port == 0) {
        return Error{-EINVAL, "send: destination " + dst.to_string() + " is not IPv4 with a port"};
    }
    uint64_t id = 0;
    int rc = r_ ? r_->send(e, msg, cookie, &id) : s_->send(e, msg, cookie, &id);
    if (rc < 0) return fail(rc, "send");
    return id;
}

Result<uint64_t> Socket::send_zc(const SocketAddress &dst, std::span<const uint8_t> msg,
                                 uint64_t cookie, SendDone done, void *ctx) {
    if (!is_open()) return Error{-EBADF, "send_zc: socket is not open"};
    if (r_) { return Error{-EINVAL, "send_zc: an application thread's socket sends with send()"}; }
    homa::Endpoint e;
    if (!dst.to_engine(&e) || e.port == 0) {
        return Error{-EINVAL,
                     "send_zc: destination " + dst.to_string() + " is not IPv4 with a port"};
    }
    uint64_t id = 0;
    int rc = s_->send_zc(e, msg.data(), uint32_t(std::min<size_t>(msg.size(), UINT32_MAX)), cookie,
                         &id, done, ctx);
    // "Full for now" is what a load loop meets every turn while it lasts: its message fits
    // std::string's inline buffer, so a refusal allocates nothing.
    if (rc == -ENOBUFS || rc == -ENOMEM) return Error{rc, "send_zc: full"};
    if (rc < 0) return fail(rc, "send_zc");
    return id;
}

int Socket::send_async(const SocketAddress &dst, std::span<const uint8_t> msg, uint64_t cookie) {
    if (!is_open()) return -EBADF;
    homa::Endpoint e;
    if (!dst.to_engine(&e) || e.port == 0) return -EINVAL;
    if (r_) return r_->send(e, msg, cookie, nullptr);  // no id: queued, not waited for
    uint64_t id = 0;
    return s_->send(e, msg, cookie, &id);
}

int Socket::send_burst(const SocketAddress &dst, std::span<const BurstRequest> reqs) {
    if (!is_open()) return -EBADF;
    if (reqs.empty()) return 0;
    homa::Endpoint e;
    if (!dst.to_engine(&e) || e.port == 0) return -EINVAL;
    if (r_) return r_->send_burst(e, reqs);
    for (size_t i = 0; i < reqs.size(); ++i) {
        uint64_t id = 0;
        int rc = s_->send(e, reqs[i].msg, reqs[i].cookie, &id);
        if (rc < 0) return i > 0 ? static_cast<int>(i) : rc;
    }
    return static_cast<int>(reqs.size());
}

int Socket::reply_self_burst(std::span<Message> requests) {
    if (!is_open()) return -EBADF;
    size_t done = 0;
    while (done < requests.size()) {
        // Checked here what reply_self_async checks, so that the socket sees only its own.
        dp::RecvMessage *burst[dp::kMessagePortBurst];
        unsigned n = 0;
        int err = 0;
        while (n < dp::kMessagePortBurst && done + n < requests.size()) {
            Message &m = requests[done + n];
            if (!m.is_request() || !m.m_.valid() || m.sock_ != s_.get() || m.rsock_ != r_.get()) {
                err = -EINVAL;
                break;
            }
            burst[n++] = &m.m_;
        }
        unsigned taken = 0;
        int rc = 0;  // why the first one not taken was not
        if (r_) {
            if (n > 0) {
                int k = r_->post_replies_with(std::span(burst, n));
                if (k < 0) {
                    rc = k;
                } else {
                    taken = static_cast<unsigned>(k);
                }
            }
        } else {
            for (; taken < n; ++taken) {
                if (int one = s_->reply_with(std::move(*burst[taken])); one < 0) {
                    rc = one;
                    break;
                }
            }
        }
        done += taken;
        if (taken < n || err != 0) {  // stopped before the end
            if (done > 0) return static_cast<int>(done);
            return taken < n ? rc : err;
        }
    }
    return static_cast<int>(done);
}

int Socket::try_recv(uint32_t flags, Message *out, uint64_t id) {
    if (out == nullptr) return -EINVAL;
    const uint32_t kinds = flags & (kRecvRequest | kRecvResponse);
    if (kinds == 0) return -EINVAL;
    if (out->m_.valid()) out->release();  // a message of another socket must not linger
    if (s_) {
        out->sock_ = s_.get();
        out->rsock_ = nullptr;
        return s_->recv(kinds, id, &out->m_);
    }
    if (r_) {
        out->sock_ = nullptr;
        out->rsock_ = r_.get();
        return r_->recv(kinds | dp::kRecvNonblocking, id, &out->m_);
    }
    return -EBADF;
}

Result<Message> Socket::recv(uint32_t flags, uint64_t id, uint64_t timeout_ns) {
    if (!is_open()) return Error{-EBADF, "recv: socket is not open"};
    if ((flags & (kRecvRequest | kRecvResponse)) == 0) {
        return Error{-EINVAL, "recv: flags need kRecvRequest and/or kRecvResponse"};
    }
    uint32_t kinds = flags & (kRecvRequest | kRecvResponse);
    Message m;
    bool wait = (flags & kRecvNonblocking) == 0;
    int rc;
    if (r_) {
        // RemoteSocket::recv without kRecvNonblocking waits as long as it takes.
        rc = !wait                        ? r_->recv(kinds | dp::kRecvNonblocking, id, &m.m_)
             : timeout_ns == kWaitForever ? r_->recv(kinds, id, &m.m_)
                                          : r_->recv_wait(kinds, id, &m.m_, timeout_ns);
        m.rsock_ = r_.get();
    } else {
        rc = !wait ? s_->recv(kinds, id, &m.m_)
                   : s_->recv_wait(kinds, id, &m.m_, std::min(timeout_ns, kLongest));
        m.sock_ = s_.get();
    }
    // A non-blocking miss is what a poll loop sees most: its message fits std::string's
    // inline buffer, so it costs no allocation.
    if (rc == -EAGAIN) return Error{rc, "recv: none yet"};
    if (rc < 0) return fail(rc, "recv");
    return m;
}

Result<Message> Socket::call(const SocketAddress &dst, std::span<const uint8_t> msg,
                             uint64_t timeout_ns) {
    auto id = send(dst, msg);
    if (!id) return Error{id.error(), id.message()};
    auto m = recv(kRecvResponse, *id, timeout_ns);
    if (!m) {
        (void)abort(*id, 0);  // nobody will collect it: end it here, silently
        return Error{m.error(), "call to " + dst.to_string() + ": " + m.message()};
    }
    if (int rc = m->error(); rc < 0) {
        return Error{rc, "call to " + dst.to_string() + ": the RPC failed: " + error_string(rc)};
    }
    return m;
}

int Socket::reply(const SocketAddress &peer, uint64_t id, std::span<const uint8_t> body) {
    if (!is_open()) return -EBADF;
    homa::Endpoint e;
    if (!peer.to_engine(&e)) return -EINVAL;
    return r_ ? r_->reply(e, id, body) : s_->reply(e, id, body);
}

int Socket::abort(uint64_t id, int error) {
    if (!is_open()) return -EBADF;
    return r_ ? r_->abort(id, -std::abs(error)) : s_->abort(id, -std::abs(error));
}

int Socket::close() {
    if (!is_open()) return -EBADF;
    int rc;
    if (r_) {
        rc = r_->close();
        // -ENOBUFS: the command port was full; the worker drains it, so try a little longer.
        for (int i = 0; rc == -ENOBUFS && i < 1000; ++i) rc = r_->close();
        r_.reset();  // a socket the worker never answered is let go (RemoteSocket leaks, never
                     // frees)
    } else {
        rc = s_->close();
        s_.reset();
    }
    return rc;
}

uint32_t Socket::worker_sends_in_flight() const noexcept {
    return s_ ? s_->worker()->sends_in_flight() : 0;
}

Socket::AsyncReplyErrors Socket::async_reply_errors() const noexcept {
    if (!r_) return {};
    return {r_->stats().async_reply_errors, r_->stats().last_async_reply_error};
}

SocketAddress Socket::local_addr() const noexcept {
    if (r_) return SocketAddress::from_engine(r_->local_addr());
    return s_ ? SocketAddress::from_engine(s_->local_addr()) : SocketAddress();
}

}  // namespace homa::v2
