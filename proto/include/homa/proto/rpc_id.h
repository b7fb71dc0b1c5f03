/**
 * @file
 * RPC id conventions of Homa: clients allocate even ids, every packet carries its sender's
 * id, and the receiver's id for the same RPC is `sender_id ^ 1`. So the low bit says which
 * end of the RPC an id names: 0 = client end, 1 = server end.
 *
 * Threading: pure functions. Errors: none.
 */
#pragma once

#include <cstdint>

namespace homa::wire {

/** The id the receiver of a packet uses for the RPC the packet's sender calls `sender_id`. */
constexpr uint64_t local_id(uint64_t sender_id) noexcept { return sender_id ^ 1; }

/** True if `id` names the server end of an RPC. */
constexpr bool is_server_id(uint64_t id) noexcept { return (id & 1) != 0; }

/** True if `id` names the client end of an RPC. */
constexpr bool is_client_id(uint64_t id) noexcept { return (id & 1) == 0; }

/** The client's id for an RPC, whichever end's id is given. */
constexpr uint64_t client_id(uint64_t id) noexcept { return id & ~uint64_t{1}; }

/** Hands out client ids: even, increasing, never 0 (0 means "new request" in the API). */
class ClientIdAllocator {
  public:
    /** `first` is rounded up to the next even non-zero id. */
    explicit constexpr ClientIdAllocator(uint64_t first = 2) noexcept
        : next_(first < 2 ? 2 : client_id(first + 1)) {}

    /** The next unused even id. Owning thread only. */
    constexpr uint64_t next() noexcept {
        uint64_t id = next_;
        next_ += 2;
        return id;
    }

  private:
    uint64_t next_;
};

}  // namespace homa::wire
