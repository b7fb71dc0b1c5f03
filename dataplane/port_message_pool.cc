// A sender's fixed pool of messages; see port_message_pool.h.
#include "homa/dataplane/port_message_pool.h"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <new>

namespace homa::dp {

PortMessagePool *PortMessagePool::create(const char *name, unsigned count, int socket_id) {
    if (count == 0) {
        rte_errno = EINVAL;
        return nullptr;
    }
    void *mem = rte_zmalloc_socket(name, sizeof(PortMessagePool), RTE_CACHE_LINE_SIZE, socket_id);
    void *msgs =
        rte_zmalloc_socket(name, sizeof(PortMessage) * count, RTE_CACHE_LINE_SIZE, socket_id);
    if (mem == nullptr || msgs == nullptr) {
        rte_free(mem);
        rte_free(msgs);
        rte_errno = ENOMEM;
        return nullptr;
    }
    auto *pool = new (mem) PortMessagePool();
    pool->msgs_ = static_cast<PortMessage *>(msgs);
    pool->count_ = count;
    // Link back to front so alloc() hands out msgs_[0] first (easier to read in a debugger).
    for (unsigned i = count; i-- > 0;) pool->free(new (&pool->msgs_[i]) PortMessage());
    return pool;
}

void PortMessagePool::destroy(PortMessagePool *pool) {
    if (pool == nullptr) return;
    for (unsigned i = 0; i < pool->count_; ++i) pool->msgs_[i].~PortMessage();
    rte_free(pool->msgs_);
    pool->~PortMessagePool();
    rte_free(pool);
}

}  // namespace homa::dp
