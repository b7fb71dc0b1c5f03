// Doubly linked chains of slab entries named by index (kNil-terminated), with the links as
// members of the entries: the RPC and peer lists of fair_share.cc and peer_table.cc. O(1)
// append and removal, no allocation.
#pragma once

#include <cstdint>

namespace homa::detail {

/** Appends entry `i` of `slab` (a std::vector or TableArray) to the chain (head, tail), linked
 *  through `prev` / `next`. The links may be members of a base of the entry (Rpc's are in
 *  RpcHot), hence the separate B. */
template <typename Slab, typename B>
void chain_append(Slab &slab, uint32_t &head, uint32_t &tail, uint32_t i, uint32_t B::*prev,
                  uint32_t B::*next) {
    slab[i].*next = UINT32_MAX;
    slab[i].*prev = tail;
    if (tail == UINT32_MAX) {
        head = i;
    } else {
        slab[tail].*next = i;
    }
    tail = i;
}

/** Takes entry `i`, which is on the chain, off it. */
template <typename Slab, typename B>
void chain_remove(Slab &slab, uint32_t &head, uint32_t &tail, uint32_t i, uint32_t B::*prev,
                  uint32_t B::*next) {
    auto &e = slab[i];
    if (e.*prev == UINT32_MAX) {
        head = e.*next;
    } else {
        slab[e.*prev].*next = e.*next;
    }
    if (e.*next == UINT32_MAX) {
        tail = e.*prev;
    } else {
        slab[e.*next].*prev = e.*prev;
    }
    e.*prev = e.*next = UINT32_MAX;
}

}  // namespace homa::detail
