// See ipv6.h.
#include "ipv6.h"

#include <arpa/inet.h>

#include <cstring>

#include "ipv4.h"

namespace homa::apps {

bool parse_ipv6(const std::string &s, wire::Ipv6Addr *out) {
    std::string text = s;
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    in6_addr a{};
    if (inet_pton(AF_INET6, text.c_str(), &a) != 1) return false;
    std::memcpy(out->data(), a.s6_addr, 16);
    return true;
}

std::string format_ipv6(const wire::Ipv6Addr &ip) {
    in6_addr a{};
    std::memcpy(a.s6_addr, ip.data(), 16);
    char buf[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, &a, buf, sizeof(buf)) ? buf : "?";
}

std::string format_ip(const IpAddress &ip) {
    return ip.is_ipv4() ? format_ipv4(ip.ipv4()) : format_ipv6(ip.bytes());
}

bool parse_ip(const std::string &s, IpAddress *out) {
    uint32_t v4 = 0;
    if (parse_ipv4(s, &v4)) {
        *out = IpAddress(v4);
        return true;
    }
    wire::Ipv6Addr v6{};
    if (!parse_ipv6(s, &v6)) return false;
    *out = IpAddress::ipv6(v6);
    return true;
}

}  // namespace homa::apps
