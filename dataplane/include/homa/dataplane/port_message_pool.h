/**
 * @file
 * A sender's own pool of messages: a fixed array allocated once at set-up, handed out and
 * taken back by one thread with no atomics (messages come back to their sender with the
 * reply, so the thread that allocates is the thread that frees).
 *
 * @code
 *   homa::dp::PortMessagePool *pool = homa::dp::PortMessagePool::create("w0-msgs", 256,
 * rte_socket_id()); homa::dp::PortMessage *m = pool->alloc();      // nullptr when all 256 are in
 * flight
 *   ...                                        // send it; receive its reply
 *   pool->free(m);
 * @endcode
 */
#pragma once

#include <cstddef>

#include "homa/dataplane/port_message.h"

namespace homa::dp {

class PortMessagePool {
  public:
    /**
     * Allocates `count` messages (DPDK memory on `socket_id`, cache aligned). Any thread, at
     * set-up. Returns nullptr with rte_errno = EINVAL (count 0) or ENOMEM.
     */
    static PortMessagePool *create(const char *name, unsigned count, int socket_id);
    /** Frees the pool; every message must have been returned. nullptr is ignored. */
    static void destroy(PortMessagePool *pool);

    /** A message owned by the caller (kMsgDone set), or nullptr if none is free. Owner only. */
    PortMessage *alloc() noexcept {
        PortMessage *m = free_;
        if (m != nullptr) {
            free_ = m->next_;
            --available_;
        }
        return m;
    }
    /** Returns a message the caller owns (kMsgDone set) to the pool. Owner only. */
    void free(PortMessage *m) noexcept {
        m->next_ = free_;
        free_ = m;
        ++available_;
    }
    /** Messages not allocated. */
    unsigned available() const noexcept { return available_; }
    /** True if `m` is one of this pool's messages. */
    bool owns(const PortMessage *m) const noexcept { return m >= msgs_ && m < msgs_ + count_; }

  private:
    PortMessagePool() = default;
    PortMessage *msgs_ = nullptr;
    PortMessage *free_ = nullptr;
    unsigned count_ = 0;
    unsigned available_ = 0;
};

}  // namespace homa::dp
