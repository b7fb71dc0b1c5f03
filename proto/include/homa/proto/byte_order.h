/**
 * @file
 * Big-endian (network order) storage for packed wire structs.
 *
 * `Be<T>` holds a T in network byte order and converts on every get/set, so a wire struct
 * can be overlaid on frame bytes without alignment or endianness surprises:
 *
 * @code
 *   homa::wire::Be<uint32_t> offset;
 *   offset.set(1400);          // stores 00 00 05 78
 *   uint32_t host = offset.get();
 * @endcode
 *
 * Threading: value type, no shared state. Errors: none.
 */
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

namespace homa::wire {

/** Reverses the bytes of an unsigned integer (identity for one byte). */
template <typename T>
constexpr T byte_swap(T v) noexcept {
    static_assert(std::is_unsigned_v<T>);
    if constexpr (sizeof(T) == 1) {
        return v;
    } else if constexpr (sizeof(T) == 2) {
        return static_cast<T>(__builtin_bswap16(v));
    } else if constexpr (sizeof(T) == 4) {
        return static_cast<T>(__builtin_bswap32(v));
    } else {
        static_assert(sizeof(T) == 8);
        return static_cast<T>(__builtin_bswap64(v));
    }
}

/** Converts between host and network order (the same operation both ways). */
template <typename T>
constexpr T host_to_net(T v) noexcept {
    if constexpr (std::endian::native == std::endian::big) {
        return v;
    } else {
        return byte_swap(v);
    }
}

/** An unsigned integer stored in network byte order; trivially copyable, no padding. */
template <typename T>
struct [[gnu::packed]] Be {
    T raw;  ///< The bytes exactly as they travel on the wire.

    constexpr T get() const noexcept { return host_to_net(raw); }
    constexpr void set(T v) noexcept { raw = host_to_net(v); }
};

static_assert(sizeof(Be<uint16_t>) == 2 && sizeof(Be<uint32_t>) == 4 && sizeof(Be<uint64_t>) == 8);

}  // namespace homa::wire
