// SocketAddress parsing and formatting; see homa/v2/socket_address.h.
#include "homa/v2/socket_address.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace homa::v2 {

std::string error_string(int code) { return std::strerror(code < 0 ? -code : code); }

namespace {

// One decimal field of at most `max`, the whole of `text` (no sign, no spaces, no leading '+').
bool parse_number(std::string_view text, unsigned max, unsigned *out) {
    if (text.empty() || text.size() > 5) return false;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v > max) return false;
    *out = v;
    return true;
}

Error bad(std::string_view text, const char *why) {
    return Error{-EINVAL, "bad endpoint '" + std::string(text) + "': " + why +
                              " (want a.b.c.d:port or [IPv6]:port, e.g. 10.0.0.1:99 or "
                              "[fd00::1]:99)"};
}

// "[literal]:port"; the text after '[' is given.
Result<SocketAddress> parse_bracketed(std::string_view text) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "no ']' after the IPv6 address");
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad(text, "no ':port' after ']'");
    unsigned port = 0;
    if (!parse_number(rest.substr(1), 65535, &port)) return bad(text, "port is not 0..65535");
    std::string literal(text.substr(1, close - 1));
    std::array<uint8_t, 16> addr{};
    if (literal.empty() || inet_pton(AF_INET6, literal.c_str(), addr.data()) != 1) {
        return bad(text, "not an IPv6 address");
    }
    // :: and multicast name no peer (Linux refuses them as a destination too).
    if (addr == std::array<uint8_t, 16>{} || addr[0] == 0xFF) {
        return bad(text, "unspecified or multicast IPv6 address");
    }
    return SocketAddress::ipv6(addr, uint16_t(port));
}

}  // namespace

SocketAddress SocketAddress::ipv4(uint32_t ip, uint16_t port) noexcept {
    SocketAddress e;
    e.family_ = Family::kIpv4;
    e.port_ = port;
    e.addr_[10] = 0xFF;  // ::ffff:a.b.c.d, the IPv4-mapped form Linux uses
    e.addr_[11] = 0xFF;
    e.addr_[12] = uint8_t(ip >> 24);
    e.addr_[13] = uint8_t(ip >> 16);
    e.addr_[14] = uint8_t(ip >> 8);
    e.addr_[15] = uint8_t(ip);
    return e;
}

SocketAddress SocketAddress::ipv6(const std::array<uint8_t, 16> &bytes, uint16_t port) noexcept {
    SocketAddress e;
    e.addr_ = bytes;
    e.port_ = port;
    e.family_ = homa::IpAddress::ipv6(bytes).is_ipv4() ? Family::kIpv4 : Family::kIpv6;
    return e;
}

Result<SocketAddress> SocketAddress::parse(std::string_view text) {
    if (!text.empty() && text.front() == '[') return parse_bracketed(text);
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad(text, "no ':port'");
    unsigned port = 0;
    if (!parse_number(text.substr(colon + 1), 65535, &port))
        return bad(text, "port is not 0..65535");
    std::string_view ip = text.substr(0, colon);
    uint32_t addr = 0;
    for (int i = 0; i < 4; ++i) {
        size_t dot = i < 3 ? ip.find('.') : ip.size();
        if (dot == std::string_view::npos) return bad(text, "address needs four fields");
        unsigned octet = 0;
        if (!parse_number(ip.substr(0, dot), 255, &octet)) {
            return bad(text, "address field is not 0..255");
        }
        addr = addr << 8 | octet;
        ip = dot < ip.size() ? ip.substr(dot + 1) : std::string_view();
        if (i < 3 && ip.empty()) return bad(text, "address needs four fields");
    }
    return ipv4(addr, uint16_t(port));
}

std::string SocketAddress::to_string() const {
    if (family_ == Family::kNone) return "-";
    if (family_ == Family::kIpv6) {
        char buf[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, addr_.data(), buf, sizeof(buf)) == nullptr) return "-";
        // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict) about "[" + string + ...
        std::string text = "[";
        text += buf;
        text += "]:";
        text += std::to_string(port_);
        return text;
    }
    std::string s;
    for (int i = 12; i < 16; ++i) {
        s += std::to_string(addr_[i]);
        s += i < 15 ? '.' : ':';
    }
    return s + std::to_string(port_);
}

uint32_t SocketAddress::ipv4_address() const noexcept {
    if (family_ != Family::kIpv4) return 0;
    return uint32_t(addr_[12]) << 24 | uint32_t(addr_[13]) << 16 | uint32_t(addr_[14]) << 8 |
           addr_[15];
}

SocketAddress SocketAddress::with_port(uint16_t port) const noexcept {
    SocketAddress e = *this;
    e.port_ = port;
    return e;
}

bool SocketAddress::to_engine(homa::Endpoint *out) const noexcept {
    if (family_ == Family::kNone) return false;
    out->ip = homa::IpAddress::ipv6(addr_);
    out->port = port_;
    return true;
}

}  // namespace homa::v2
