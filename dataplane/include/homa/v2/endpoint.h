/**
 * @file
 * An address and port, as users write them ("10.0.0.1:99"). IPv4 today; the layout is the
 * one IPv6 needs (a family tag and 16 address bytes, IPv4 held IPv4-mapped as ::ffff:a.b.c.d,
 * as Linux Homa does), so adding IPv6 changes parse() and the engine conversion, not callers.
 *
 * @code
 *   auto server = homa::v2::Endpoint::parse("10.0.0.1:99");
 *   if (!server) return server.error();          // -EINVAL, message says what is wrong
 *   printf("%s\n", server->to_string().c_str()); // "10.0.0.1:99"
 * @endcode
 *
 * Ownership: a plain value. Threading: any thread. Errors: parse returns -EINVAL for text that
 * is not "a.b.c.d:port" (port 0..65535) and -EAFNOSUPPORT for an IPv6 literal ("[::1]:99"),
 * which this build does not carry yet; to_engine returns false for a non-IPv4 endpoint.
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
    /** "a.b.c.d:port". Errors in the file comment. */
    static Result<Endpoint> parse(std::string_view text);
    /** "a.b.c.d:port" ("-" for the empty endpoint). */
    std::string to_string() const;

    Family family() const noexcept { return family_; }
    uint16_t port() const noexcept { return port_; }
    /** Host-order IPv4 address; 0 unless family() is kIpv4. */
    uint32_t ipv4_address() const noexcept;
    /** The 16 address bytes, network order (IPv4-mapped for IPv4). */
    const std::array<uint8_t, 16> &bytes() const noexcept { return addr_; }
    Endpoint with_port(uint16_t port) const noexcept;

    /** The engine's endpoint (IPv4 only today): false, and *out untouched, for another family. */
    bool to_engine(homa::Endpoint *out) const noexcept;
    static Endpoint from_engine(const homa::Endpoint &e) noexcept { return ipv4(e.ip, e.port); }

    friend bool operator==(const Endpoint &, const Endpoint &) = default;

private:
    Family family_ = Family::kNone;
    uint16_t port_ = 0;
    std::array<uint8_t, 16> addr_{};
};

}  // namespace homa::v2
