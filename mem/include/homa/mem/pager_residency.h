/**
 * @file
 * Residency hooks (residency.h) for a Pager's memory: the way pager-backed memory (a
 * FilePager's file) takes part in message_body_in_core. Pager pages do not come in by touching
 * them (pager.h: faults are explicit), so the default answer (mincore, prefault) is wrong for
 * them; these hooks answer for ranges wholly inside the pager's memory and pass every other
 * range on. There are two, because who asks matters:
 *
 *   pager_residency_hook          for the control lcore's chain. in_core: every page present
 *                                 (kClean or kDirty), asked of the pager under its lock;
 *                                 pull: Pager::fault_in(), resident if it succeeded.
 *   pager_residency_hook_nolock   for a worker's chain. in_core: "not resident" without
 *                                 looking: knowing would take the pager's lock (never held
 *                                 across a read, but still a lock shared with the reader
 *                                 threads, and one look per page), so the worker asks the
 *                                 control lcore instead, whose pull is cheap for pages already
 *                                 present. pull: as above.
 *
 * @code
 *   homa::mem::ResidencyChain worker_chain, control_chain;
 *   worker_chain.register_first(homa::mem::pager_residency_hook_nolock, &file->pager());
 *   control_chain.register_first(homa::mem::pager_residency_hook, &file->pager());
 * @endcode
 *
 * Threading: as Pager (any thread). pull blocks on the backing store, and the locking
 * in_core may wait for it: control lcore only.
 */
#pragma once

#include <cstddef>

#include "homa/mem/residency.h"

namespace homa::mem {

/** ResidencyHook whose ctx is a Pager *; asks the pager (takes its lock). */
HookResult pager_residency_hook(void *pager, const void *addr, size_t len, bool pull,
                                bool *resident);

/** ResidencyHook whose ctx is a Pager *; in_core never takes the lock (answers false). */
HookResult pager_residency_hook_nolock(void *pager, const void *addr, size_t len, bool pull,
                                       bool *resident);

}  // namespace homa::mem
