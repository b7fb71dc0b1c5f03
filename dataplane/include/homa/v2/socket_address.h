/**
 * @file
 * A socket address (an IP address and a port) as users write them: "10.0.0.1:99" or
 * "[fd00::1]:99". A family tag and 16 address bytes; IPv4 is held IPv4-mapped (::ffff:a.b.c.d),
 * as Linux Homa does, and an IPv4-mapped IPv6 literal ("[::ffff:10.0.0.1]:99") is the IPv4 one.
 *
 * Not the engine's homa::Endpoint (proto/engine.h), which is what the engine keys its peers
 * and RPCs by and has no text form or "none" state: this is the application's type, with
 * parsing, formatting and a family; to_engine/from_engine convert without loss.
 *
 * @code
 *   auto server = homa::v2::SocketAddress::parse("[fd00::1]:99");
 *   if (!server) return server.error();          // -EINVAL, message says what is wrong
 *   printf("%s\n", server->to_string().c_str()); // "[fd00::1]:99"
 * @endcode
 *
 * Ownership: a plain value. Threading: any thread. Errors: parse returns -EINVAL for text that
 * is neither "a.b.c.d:port" nor "[IPv6]:port" (port 0..65535), or names "::" or a multicast
 * address; to_engine returns false for the empty address.
 */
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "homa/proto/engine.h"
#include "homa/v2/result.h"

namespace homa::v2 {

class SocketAddress {
  public:
    enum class Family : uint8_t { kNone = 0, kIpv4 = 4, kIpv6 = 6 };

    /** The empty address (family kNone): what a default-constructed one is. */
    constexpr SocketAddress() = default;
    /** An IPv4 address from a host-order address (0x0A000001 is 10.0.0.1). */
    static SocketAddress ipv4(uint32_t host_order_ip, uint16_t port) noexcept;
    /** An address from 16 network-order address bytes: IPv4 if they are IPv4-mapped. */
    static SocketAddress ipv6(const std::array<uint8_t, 16> &bytes, uint16_t port) noexcept;
    /** "a.b.c.d:port" or "[IPv6]:port". Errors in the file comment. */
    static Result<SocketAddress> parse(std::string_view text);
    /** "a.b.c.d:port", "[fd00::1]:port" (RFC 5952 form), or "-" for the empty address. */
    std::string to_string() const;

    Family family() const noexcept { return family_; }
    uint16_t port() const noexcept { return port_; }
    /** Host-order IPv4 address; 0 unless family() is kIpv4. */
    uint32_t ipv4_address() const noexcept;
    /** The 16 address bytes, network order (IPv4-mapped for IPv4). */
    const std::array<uint8_t, 16> &bytes() const noexcept { return addr_; }
    SocketAddress with_port(uint16_t port) const noexcept;

    /** The engine's endpoint: false, and *out untouched, for the empty address. */
    bool to_engine(homa::Endpoint *out) const noexcept;
    /** The engine's endpoint as a v2 one; the empty address for the address "::". */
    static SocketAddress from_engine(const homa::Endpoint &e) noexcept {
        return e.ip.is_unspecified() ? SocketAddress() : ipv6(e.ip.bytes(), e.port);
    }

    friend bool operator==(const SocketAddress &, const SocketAddress &) = default;

  private:
    Family family_ = Family::kNone;
    uint16_t port_ = 0;
    std::array<uint8_t, 16> addr_{};
};

}  // namespace homa::v2
