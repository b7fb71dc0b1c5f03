/**
 * @file
 * Cache-line prefetch hints that the optimizer keeps.
 *
 * Why not __builtin_prefetch alone: GCC's interprocedural pure/const analysis takes the builtin
 * for free of side effects, so a function whose only work is prefetching counts as "const", and
 * with link-time optimization every call to it whose result is unused is deleted. With GCC 12
 * and -flto the engine's RX hints (Engine::prefetch_index, Engine::prefetch_rpc) were never
 * called in the release builds from the fourteenth session, when LTO came in, to the
 * forty-ninth (docs/perf.md, "The RX hints the link-time optimizer deleted"). The empty volatile
 * asm below emits no instruction; it is an effect the optimizer must keep, and with it the
 * call. tests/mem/prefetch_kept_test.sh checks that, with the compiler of the build.
 *
 * Threading: any thread. Errors: none (a hint never faults, whatever the address).
 */
#pragma once

namespace homa::mem {

/** Starts loading the cache line that holds `p`, to be read. */
inline void prefetch(const void *p) noexcept {
    __builtin_prefetch(p);
    asm volatile("");
}

/** Starts loading the cache line that holds `p`, to be written. */
inline void prefetch_for_write(const void *p) noexcept {
    __builtin_prefetch(p, 1);
    asm volatile("");
}

}  // namespace homa::mem
