// The rings on which a RemoteSocket (remote_socket.cc, application thread) and its worker
// (socket_service.cc) hand each other messages on the hot path: requests and replies to send
// (RequestRing, application -> worker) and received messages and late errors (AnswerRing,
// worker -> application). Private to dataplane/: both ends are built together, so the layout
// is not an interface.
//
// Why not message ports: a message handed over through a port costs the other core several
// cache lines in a chain (the ring's tail, the ring slot, the port message, the homa::Message
// it points at), and each is a transfer between cores that the receiving side waits for. When
// the hypervisor places the two vCPUs apart a line moves in about 0.3 us. Here one 64-byte
// entry carries everything a message of one bpage needs, and the sequence word that says it is
// full sits in the same line: the poll that sees the entry has already fetched it. A message of
// more bpages adds the entry's second line.
//
// Single producer, single consumer. An entry is full for position p when its seq is p + 1
// (32-bit, wrapping: positions are only compared for equality and differences, and capacity
// is far below 2^31). The consumer says how far it has read through `consumed`; the producer
// re-reads that only when its cached copy says the ring is full (Producer), so in the steady
// state no line moves but the entries.
//
// Memory: both rings are allocated and freed by the RemoteSocket; the worker holds pointers
// from kRemoteOpen until it answers kRemoteClose, after which it never touches them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "homa/mem/prefetch.h"
#include "homa/proto/engine.h"
#include "homa/proto/wire.h"

namespace homa::dp {

/** The bpages of a message, as both entry kinds carry them: the first in the entry's first
 *  line, the others in its second (read only when there are more). */
struct alignas(64) EntryBpages {
    uint32_t more[wire::kMaxBpages - 1];
};

/** What the worker hands the application. */
struct alignas(64) Answer {
    enum Kind : uint16_t {
        kMessage,      ///< A received message (error set: an RPC that failed).
        kSendFailed,   ///< A queued send the worker refused: error, cookie.
        kReplyFailed,  ///< A queued reply the worker refused: error, id (the request's).
    };
    std::atomic<uint32_t> seq;  ///< Position + 1 once the entry is full (release store, last).
    int32_t error;
    uint64_t id;
    uint64_t cookie;
    IpAddress peer_ip;
    uint16_t peer_port;
    uint16_t kind;
    uint32_t length;
    uint32_t num_bpages;
    uint32_t first_bpage;
    EntryBpages bpages;
};
static_assert(offsetof(Answer, first_bpage) + sizeof(uint32_t) <= 64, "the first line is full");
static_assert(sizeof(Answer) == 128);

/** What the application asks the worker to send without waiting for it. */
struct alignas(64) Request {
    /// A message this short travels in the entry itself (num_bpages 0): the worker hands the
    /// entry's bytes to the engine as a copied send (OutMessage::copy), no bpage on either
    /// side. Copied into bpages on this side, it would be carved from the application's cache
    /// and freed by the worker after transmission, and the bpage's descriptor, written by
    /// both, would cross between the cores with every message.
    static constexpr uint32_t kInlineMax = 192;

    std::atomic<uint32_t> seq;
    uint16_t op;  ///< kRemoteSend or kRemoteReply.
    uint16_t peer_port;
    IpAddress peer_ip;      ///< Destination.
    uint64_t cookie_or_id;  ///< kRemoteSend: the cookie; kRemoteReply: the request's id.
    uint32_t length;
    uint32_t num_bpages;  ///< Owned by the worker once it takes the entry; 0: inline.
    uint32_t first_bpage;
    union {
        EntryBpages bpages;
        alignas(64) uint8_t inline_data[kInlineMax];
    };
};
static_assert(offsetof(Request, first_bpage) + sizeof(uint32_t) <= 64, "the first line is full");
static_assert(sizeof(Request) == 256);

/** Copies a message's bpage list into an entry; `n` <= wire::kMaxBpages. */
inline void put_bpages(const uint32_t *offsets, uint32_t n, uint32_t *first,
                       EntryBpages *more) noexcept {
    *first = n > 0 ? offsets[0] : 0;
    for (uint32_t i = 1; i < n; ++i) more->more[i - 1] = offsets[i];
}
/** The other way; returns the count, 0 if the entry's is out of range. */
inline uint32_t get_bpages(uint32_t n, uint32_t first, const EntryBpages &more,
                           uint32_t *offsets) noexcept {
    if (n > wire::kMaxBpages) return 0;
    if (n > 0) offsets[0] = first;
    for (uint32_t i = 1; i < n; ++i) offsets[i] = more.more[i - 1];
    return n;
}

template <class Entry>
struct HandoffRing {
    static constexpr uint32_t kMaxCapacity = 4096;

    /** A ring of `capacity` empty entries (a power of two, 1..kMaxCapacity); nullptr if the
     *  capacity is bad or memory is short. Set-up, any thread. */
    static HandoffRing *create(uint32_t capacity) {
        if (capacity == 0 || capacity > kMaxCapacity || (capacity & (capacity - 1)) != 0) {
            return nullptr;
        }
        void *p = ::operator new (sizeof(HandoffRing) + sizeof(Entry) * capacity,
                                  std::align_val_t{64}, std::nothrow);
        if (p == nullptr) return nullptr;
        auto *r = new (p) HandoffRing();
        r->mask = capacity - 1;
        for (uint32_t i = 0; i < capacity; ++i) new (&r->entries()[i]) Entry{};
        return r;
    }
    static void destroy(HandoffRing *r) noexcept {
        if (r != nullptr) ::operator delete (r, std::align_val_t{64});
    }

    uint32_t capacity() const noexcept { return mask + 1; }
    Entry &at(uint32_t pos) noexcept { return entries()[pos & mask]; }
    /** Consumer: the entry at `pos`, if the producer has published it. */
    Entry *full(uint32_t pos) noexcept {
        Entry &e = at(pos);
        return e.seq.load(std::memory_order_acquire) == pos + 1 ? &e : nullptr;
    }
    /** Producer: makes the entry at `pos`, filled, visible (its last store). */
    void publish(uint32_t pos) noexcept { at(pos).seq.store(pos + 1, std::memory_order_release); }

    /// Set at creation, then only read (its own line: `consumed` changes all the time).
    alignas(64) uint32_t mask = 0;
    /// Written by the consumer: every position before it has been read.
    alignas(64) std::atomic<uint32_t> consumed{0};

  private:
    Entry *entries() noexcept { return reinterpret_cast<Entry *>(this + 1); }
};

using AnswerRing = HandoffRing<Answer>;
using RequestRing = HandoffRing<Request>;

/** kRemoteOpen's `data`: the socket's two rings (application memory, read once at open). */
struct OpenRings {
    AnswerRing *answers = nullptr;
    RequestRing *requests = nullptr;
};

/// How far ahead of the entry in hand each side asks for the next entries' lines.
constexpr uint32_t kPrefetchDistance = 4;
/// A request's lines worth fetching ahead: the header and two lines of inline data (a message
/// of up to 128 bytes); the rest is read when there is one.
constexpr uint32_t kRequestLines = 3;

/** The producer's side of a ring: where it writes next and how far it knows there is room. */
template <class Entry>
struct Producer {
    HandoffRing<Entry> *ring = nullptr;
    uint32_t next = 0;
    uint32_t room_until = 0;  ///< Positions before this are known to be free.

    /** True if the entry at `next` may be filled. Reads the consumer's line only when the
     *  room known so far is used up. */
    bool has_room() noexcept { return has_room_for(1); }
    /** True if the `k` entries from `next` on may be filled (k >= 1). Reads the consumer's
     *  line only when the room known so far is too small. */
    bool has_room_for(uint32_t k) noexcept {
        if (room_until - next >= k) return true;
        room_until = ring->consumed.load(std::memory_order_acquire) + ring->capacity();
        return room_until - next >= k;
    }
    /** Publishes the entry at `next` (filled by the caller) and moves on. */
    void push() noexcept { ring->publish(next++); }
    /** Asks for the first `lines` lines of entry `next` + `distance` for writing: the consumer
     *  read it last, so the store would otherwise wait for the line to come back. */
    void prefetch_ahead(uint32_t distance, uint32_t lines) noexcept {
        const char *e = reinterpret_cast<const char *>(&ring->at(next + distance));
        for (uint32_t l = 0; l < lines; ++l) mem::prefetch_for_write(e + 64 * l);
    }
};

/** The consumer's side: where it reads next. It tells the producer in bulk (release()). */
template <class Entry>
struct Consumer {
    HandoffRing<Entry> *ring = nullptr;
    uint32_t next = 0;

    Entry *peek() noexcept { return ring->full(next); }
    void pop() noexcept { ++next; }
    /** Asks for the first `lines` cache lines of entry `next` + `distance`, and with `from_one`
     *  of every entry from `next` + 1 to it (a pass's first entry): with the two cores placed
     *  apart each line comes from the producer's cache in about 0.3 us, and a consumer that
     *  touches the entries one at a time waits for each in turn. An entry not yet published
     *  is fetched for nothing, and read again when it is. */
    void prefetch_ahead(uint32_t distance, uint32_t lines, bool from_one) noexcept {
        for (uint32_t k = from_one ? 1 : distance; k <= distance; ++k) {
            const char *e = reinterpret_cast<const char *>(&ring->at(next + k));
            for (uint32_t l = 0; l < lines; ++l) mem::prefetch(e + 64 * l);
        }
    }
    /** Tells the producer that everything before `next` is free. */
    void release() noexcept { ring->consumed.store(next, std::memory_order_release); }
};

}  // namespace homa::dp
