/**
 * @file
 * A residency hook (residency.h) for a Pager's memory: the way pager-backed memory (a
 * FilePager's file) takes part in message_body_in_core. Pager pages do not come in by
 * touching them (pager.h: faults are explicit), so the default answer (mincore, prefault) is
 * wrong for them; this hook answers for ranges inside the pager's memory and passes every
 * other range on.
 *
 *   in_core (pull false): "not resident" without looking. Knowing would take the pager's lock,
 *       which the pager holds during backing-store I/O, so a worker asking could block on a
 *       disk read. The control lcore's pull is cheap for pages already present.
 *   pull (pull true): Pager::fault_in(); resident if it succeeded.
 *
 * @code
 *   homa::mem::ResidencyChain chain;
 *   chain.register_first(homa::mem::pager_residency_hook, &file->pager());
 * @endcode
 *
 * Threading: as Pager (any thread); pull blocks on the backing store: control lcore only.
 */
#pragma once

#include <cstddef>

#include "homa/mem/residency.h"

namespace homa::mem {

/** ResidencyHook whose ctx is a Pager *. kContinue for ranges not wholly in its memory. */
HookResult pager_residency_hook(void *pager, const void *addr, size_t len, bool pull,
                                bool *resident);

}  // namespace homa::mem
