/**
 * @file
 * An address and port, as users write them: "10.0.0.1:99" or "[fd00::1]:99". A family tag and
 * 16 address bytes; IPv4 is held IPv4-mapped (::ffff:a.b.c.d), as Linux Homa does, and an
 * IPv4-mapped IPv6 literal ("[::ffff:10.0.0.1]:99") is the IPv4 endpoint.
 *
 * @code
 *   auto server = homa::v2::Endpoint::parse("[fd00::1]:99");
 *   if (!server) return server.error();          // -EINVAL, message says what is wrong
 *   printf("%s\n", server->to_string().c_str()); // "[fd00::1]:99"
 * @endcode
 *
 * Ownership: a plain value. Threading: any thread. Errors: parse returns -EINVAL for text that
 * is neither "a.b.c.d:port" nor "[IPv6]:port" (port 0..65535), or names "::" or a multicast
 * address; to_engine returns false for the empty endpoint.
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

class Endpoint {
  public:
    enum class Family : uint8_t { kNone = 0, kIpv4 = 4, kIpv6 = 6 };

    /** The empty endpoint (family kNone): what a default-constructed one is. */
    constexpr Endpoint() = default;
    /** An IPv4 endpoint from a host-order address (0x0A000001 is 10.0.0.1). */
    static Endpoint ipv4(uint32_t host_order_ip, uint16_t port) noexcept;
    /** An endpoint from 16 network-order address bytes: IPv4 if they are IPv4-mapped. */
    static Endpoint ipv6(const std::array<uint8_t, 16> &bytes, uint16_t port) noexcept;
    /** "a.b.c.d:port" or "[IPv6]:port". Errors in the file comment. */
    static Result<Endpoint> parse(std::string_view text);
    /** "a.b.c.d:port", "[fd00::1]:port" (RFC 5952 form), or "-" for the empty endpoint. */
    std::string to_string() const;

    Family family() const noexcept { return family_; }
    uint16_t port() const noexcept { return port_; }
    /** Host-order IPv4 address; 0 unless family() is kIpv4. */
    uint32_t ipv4_address() const noexcept;
    /** The 16 address bytes, network order (IPv4-mapped for IPv4). */
    const std::array<uint8_t, 16> &bytes() const noexcept { return addr_; }
    Endpoint with_port(uint16_t port) const noexcept;

    /** The engine's endpoint: false, and *out untouched, for the empty endpoint. */
    bool to_engine(homa::Endpoint *out) const noexcept;
    /** The engine's endpoint as a v2 one; the empty endpoint for the address "::". */
    static Endpoint from_engine(const homa::Endpoint &e) noexcept {
        return e.ip.is_unspecified() ? Endpoint() : ipv6(e.ip.bytes(), e.port);
    }

    friend bool operator==(const Endpoint &, const Endpoint &) = default;

  private:
    Family family_ = Family::kNone;
    uint16_t port_ = 0;
    std::array<uint8_t, 16> addr_{};
};

}  // namespace homa::v2
