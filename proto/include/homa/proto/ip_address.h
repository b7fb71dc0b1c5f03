/**
 * @file
 * The address the engine knows a peer by: 16 bytes, IPv4 peers held IPv4-mapped
 * (::ffff:a.b.c.d), as Linux Homa keys its peers (skb_canonical_ipv6_saddr). One type for both
 * families keeps one peer table and one code path; the dataplane picks the frame format by
 * is_ipv4() when it sends.
 *
 * @code
 *   homa::IpAddress v4 = 0x0A000001;                        // 10.0.0.1 as ::ffff:10.0.0.1
 *   homa::IpAddress v6 = homa::IpAddress::ipv6(bytes);      // fd00::1
 *   if (v4.is_ipv4()) use(v4.ipv4());                       // 0x0A000001 again
 * @endcode
 *
 * Ownership: a plain value. Threading: pure. Errors: none (ipv4() is 0 for an IPv6 address).
 */
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "homa/proto/frame.h"

namespace homa {

class IpAddress {
  public:
    /** The unspecified address "::" (neither family: no peer has it). */
    constexpr IpAddress() noexcept = default;
    /** An IPv4 address, host order (0x0A000001 is 10.0.0.1), held as ::ffff:a.b.c.d.
     *  Implicit on purpose: an IPv4 integer names the same peer it always did. */
    constexpr IpAddress(uint32_t ipv4_host_order) noexcept {  // NOLINT(google-explicit-constructor)
        bytes_[10] = 0xFF;
        bytes_[11] = 0xFF;
        bytes_[12] = static_cast<uint8_t>(ipv4_host_order >> 24);
        bytes_[13] = static_cast<uint8_t>(ipv4_host_order >> 16);
        bytes_[14] = static_cast<uint8_t>(ipv4_host_order >> 8);
        bytes_[15] = static_cast<uint8_t>(ipv4_host_order);
    }
    /** An IPv4 address from its 4 bytes in network order, as they sit in a header: two
     *  stores, where the host-order constructor swaps bytes back one by one. */
    static IpAddress ipv4_network(const void *network_order) noexcept {
        IpAddress a;
        a.bytes_[10] = 0xFF;
        a.bytes_[11] = 0xFF;
        std::memcpy(a.bytes_.data() + 12, network_order, 4);
        return a;
    }
    /** An address from its 16 bytes in network order (an IPv4-mapped one is IPv4). */
    static constexpr IpAddress ipv6(const wire::Ipv6Addr &network_order) noexcept {
        IpAddress a;
        a.bytes_ = network_order;
        return a;
    }
    static IpAddress ipv6(const uint8_t network_order[16]) noexcept {
        IpAddress a;
        std::memcpy(a.bytes_.data(), network_order, 16);
        return a;
    }

    /** True for ::ffff:a.b.c.d (RFC 4291 2.5.5.2): an IPv4 peer, reached over IPv4 frames. */
    bool is_ipv4() const noexcept {
        uint64_t hi;
        uint32_t mid;
        std::memcpy(&hi, bytes_.data(), 8);
        std::memcpy(&mid, bytes_.data() + 8, 4);
        return hi == 0 && mid == kMappedPrefixWord;
    }
    /** The IPv4 address in host order; 0 unless is_ipv4(). */
    uint32_t ipv4() const noexcept { return is_ipv4() ? low_word() : 0; }
    /** The last four bytes in host order (the IPv4 address of a mapped one): what the
     *  timetrace, whose arguments are 32-bit, records of an address. */
    uint32_t low_word() const noexcept {
        return uint32_t{bytes_[12]} << 24 | uint32_t{bytes_[13]} << 16 | uint32_t{bytes_[14]} << 8 |
               bytes_[15];
    }
    /** True for "::" (the default: no address). */
    bool is_unspecified() const noexcept { return *this == IpAddress(); }
    /** The 16 bytes, network order. */
    const wire::Ipv6Addr &bytes() const noexcept { return bytes_; }

    /** For hash tables: hosts of one subnet differ in the last 8 bytes, so both halves are
     *  mixed rather than only the interface identifier. */
    uint64_t hash_bits() const noexcept {
        uint64_t hi, lo;
        std::memcpy(&hi, bytes_.data(), 8);
        std::memcpy(&lo, bytes_.data() + 8, 8);
        return lo ^ (hi * 0x9E3779B97F4A7C15ull);
    }

    /** The four 32-bit words XORed: what the engine's RPC index hashes a peer by, computable
     *  from a packet's header without building the address (ipv4_fold32). */
    uint32_t fold32() const noexcept {
        uint32_t w[4];
        std::memcpy(w, bytes_.data(), 16);
        return w[0] ^ w[1] ^ w[2] ^ w[3];
    }
    /** fold32() of the IPv4-mapped address whose last 4 bytes, as a native-endian word, are
     *  `network_word` (the source field of an IPv4 header loaded as it is). */
    static constexpr uint32_t ipv4_fold32(uint32_t network_word) noexcept {
        return network_word ^ kMappedPrefixWord;
    }

    // Two 8-byte compares: the defaulted == compiles to a call to memcmp, which was 15 % of the
    // RX pipeline's cycles (every packet compares its source with the last peer's address).
    friend constexpr bool operator==(const IpAddress &a, const IpAddress &b) noexcept {
        const auto x = std::bit_cast<std::array<uint64_t, 2>>(a.bytes_);
        const auto y = std::bit_cast<std::array<uint64_t, 2>>(b.bytes_);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }

  private:
    // Bytes 8..11 of a mapped address (00 00 ff ff) read as a native-endian word.
    static constexpr uint32_t kMappedPrefixWord =
        std::endian::native == std::endian::little ? 0xFFFF0000u : 0x0000FFFFu;
    wire::Ipv6Addr bytes_{};
};

}  // namespace homa
