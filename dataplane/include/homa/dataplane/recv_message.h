/**
 * @file
 * A received Homa message, as both socket APIs hand it out: Socket::recv (run-to-completion,
 * socket.h) and RemoteSocket::recv (application threads, remote_socket.h). One type for both,
 * so that code serving either kind of socket handles messages the same way.
 *
 * @code
 *   homa::dp::RecvMessage req;
 *   if (sock.recv(homa::kRecvRequest, 0, &req) == 0) {
 *       for (uint32_t i = 0; i < req.num_pieces(); ++i) use(req.piece(i));   // zero-copy
 *       (void)sock.reply_with(std::move(req));                             // or let it go
 *   }
 * @endcode
 *
 * Ownership: move-only; owns the message's bpages in the worker's pool until release(),
 * destruction, a reply_with() that consumes it, or detach(). The bpages go back through the
 * pool cache of the thread that received it (the worker's, or the application thread's).
 * Threading: the thread that received it (the pool cache is that thread's).
 * Errors: none; accessors of an empty message return zeros and empty spans.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "homa/proto/engine.h"

namespace homa::mem {
class BpagePool;
}

namespace homa::dp {

class RecvMessage {
  public:
    RecvMessage() = default;
    RecvMessage(RecvMessage &&o) noexcept;
    RecvMessage &operator=(RecvMessage &&o) noexcept;
    RecvMessage(const RecvMessage &) = delete;
    RecvMessage &operator=(const RecvMessage &) = delete;
    ~RecvMessage() { release(); }

    /** Holds a message (received and not yet released, replied with or detached). */
    bool valid() const noexcept { return pool_ != nullptr; }
    uint64_t id() const noexcept { return m_.id; }
    uint64_t cookie() const noexcept { return m_.cookie; }
    Endpoint peer() const noexcept { return m_.peer; }
    /** 0, or the errno the RPC failed with (then length() is 0). For a RemoteSocket::send
     *  without id that the worker refused, id() is 0 and cookie() says which send it was. */
    int error() const noexcept { return m_.error; }
    uint32_t length() const noexcept { return m_.length; }
    uint32_t num_pieces() const noexcept { return m_.num_bpages; }
    /** Contiguous piece i (bytes [i * 64 KiB, ...) of the message), inside the pool. */
    std::span<const uint8_t> piece(uint32_t i) const noexcept;
    /** Copies up to out.size() bytes from `offset` on; returns the bytes copied. */
    size_t copy_to(std::span<uint8_t> out, uint32_t offset = 0) const noexcept;
    /** Gives the bpages back to the pool now (idempotent). */
    void release() noexcept;
    /** Hands the engine's message, bpage offsets included, to the caller, who must give the
     *  offsets back to the pool (BpagePool::release with the receiving thread's cache); this
     *  object is left empty. What the C ABI does to lend bpages to C and Go code. */
    homa::Message detach() noexcept;

  private:
    friend class Socket;
    friend class RemoteSocket;
    /** Takes `m`, whose bpages are in `pool`, to be released through `cache`. */
    void adopt(mem::BpagePool *pool, unsigned cache, const homa::Message &m) noexcept {
        release();
        pool_ = pool;
        cache_ = cache;
        m_ = m;
    }
    /** Forgets the bpages without releasing them: a reply now carries them. */
    void disown() noexcept {
        // Only what valid()/num_pieces()/length() look at is reset: clearing the whole
        // homa::Message showed up at several percent of a 100 B echo.
        pool_ = nullptr;
        m_.num_bpages = 0;
        m_.length = 0;
    }

    mem::BpagePool *pool_ = nullptr;
    unsigned cache_ = 0;
    homa::Message m_;  // the engine's received message
};

}  // namespace homa::dp
