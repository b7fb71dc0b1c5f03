// The ring on which a worker hands received messages to one RemoteSocket (remote_socket.cc,
// application thread; filled by socket_service.cc on the worker lcore). Private to dataplane/:
// both ends are built together, so the layout is not an interface.
//
// Why not the socket's reply port: a message handed over through a port costs the other core
// several cache lines in a chain (the ring's tail, the ring slot, the port message, the
// homa::Message it points at), and each is a transfer between cores that the application
// waits for. Here one 64-byte entry carries everything a message of one bpage needs, and the
// sequence word that says it is full sits in the same line: the application's poll that sees
// the message has already fetched it. A message of more bpages adds the entry's second line.
//
// Single producer (the worker that owns the socket), single consumer (the socket's thread).
// An entry is full for position p when its seq is p + 1 (32-bit, wrapping: positions are only
// compared for equality and differences, and capacity is far below 2^31). The consumer says
// how far it has read through `consumed`; the producer re-reads that only when its cached
// copy says the ring is full, so in the steady state no line but the entry moves.
//
// Memory: allocated and freed by the RemoteSocket (create/destroy below); the worker holds a
// pointer from kRemoteOpen until it answers kRemoteClose, after which it never touches it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "homa/proto/engine.h"
#include "homa/proto/wire.h"

namespace homa::dp {

struct alignas(64) Answer {
    // First line: a message of at most one bpage, complete.
    std::atomic<uint32_t> seq;  ///< Position + 1 once the entry is full (release store, last).
    int32_t error;
    uint64_t id;
    uint64_t cookie;
    IpAddress peer_ip;
    uint16_t peer_port;
    uint16_t reserved;
    uint32_t length;
    uint32_t num_bpages;
    uint32_t first_bpage;
    // Second line: read only when num_bpages > 1.
    alignas(64) uint32_t more_bpages[wire::kMaxBpages - 1];
};
static_assert(offsetof(Answer, first_bpage) + sizeof(uint32_t) <= 64, "the first line is full");
static_assert(sizeof(Answer) == 128);

struct AnswerRing {
    static constexpr uint32_t kMaxCapacity = 4096;

    /** A ring of `capacity` entries (a power of two, 1..kMaxCapacity), zeroed; nullptr if
     *  the capacity is bad or memory is short. Set-up, any thread. */
    static AnswerRing *create(uint32_t capacity) {
        if (capacity == 0 || capacity > kMaxCapacity || (capacity & (capacity - 1)) != 0) {
            return nullptr;
        }
        size_t bytes = sizeof(AnswerRing) + sizeof(Answer) * capacity;
        void *p = ::operator new (bytes, std::align_val_t{64}, std::nothrow);
        if (p == nullptr) return nullptr;
        auto *r = new (p) AnswerRing();
        r->mask = capacity - 1;
        for (uint32_t i = 0; i < capacity; ++i) { new (&r->entries()[i]) Answer{}; }
        return r;
    }
    static void destroy(AnswerRing *r) noexcept {
        if (r != nullptr) ::operator delete (r, std::align_val_t{64});
    }

    uint32_t capacity() const noexcept { return mask + 1; }
    Answer *entries() noexcept { return reinterpret_cast<Answer *>(this + 1); }
    Answer &at(uint32_t pos) noexcept { return entries()[pos & mask]; }

    /** Fills the entry at `pos` from `m` and publishes it. Producer only; the caller has
     *  checked that pos - consumed < capacity. */
    void push(uint32_t pos, const homa::Message &m) noexcept {
        Answer &a = at(pos);
        a.error = m.error;
        a.id = m.id;
        a.cookie = m.cookie;
        a.peer_ip = m.peer.ip;
        a.peer_port = m.peer.port;
        a.length = m.length;
        a.num_bpages = m.num_bpages;
        a.first_bpage = m.num_bpages > 0 ? m.bpage_offsets[0] : 0;
        for (uint32_t i = 1; i < m.num_bpages && i < wire::kMaxBpages; ++i) {
            a.more_bpages[i - 1] = m.bpage_offsets[i];
        }
        a.seq.store(pos + 1, std::memory_order_release);
    }

    /** If the entry at `pos` is full, copies it into `m` and returns true. Consumer only. */
    bool take(uint32_t pos, homa::Message *m) noexcept {
        Answer &a = at(pos);
        if (a.seq.load(std::memory_order_acquire) != pos + 1) return false;
        m->id = a.id;
        m->cookie = a.cookie;
        m->peer = {a.peer_ip, a.peer_port};
        m->error = a.error;
        m->length = a.length;
        uint32_t n = a.num_bpages <= wire::kMaxBpages ? a.num_bpages : 0;
        m->num_bpages = n;
        if (n > 0) m->bpage_offsets[0] = a.first_bpage;
        for (uint32_t i = 1; i < n; ++i) m->bpage_offsets[i] = a.more_bpages[i - 1];
        return true;
    }

    /// Set at creation, then only read (its own line: `consumed` changes all the time).
    alignas(64) uint32_t mask = 0;
    /// Written by the consumer: every position before it has been read.
    alignas(64) std::atomic<uint32_t> consumed{0};
};
static_assert(sizeof(AnswerRing) % alignof(Answer) == 0, "entries follow, aligned");

}  // namespace homa::dp
