// See ipv4.h.
#include "ipv4.h"

#include <arpa/inet.h>

namespace homa::apps {

bool parse_ipv4(const std::string &s, uint32_t *out) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
    *out = ntohl(a.s_addr);
    return true;
}

std::string format_ipv4(uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xFF) + "." +
           std::to_string((ip >> 8) & 0xFF) + "." + std::to_string(ip & 0xFF);
}

}  // namespace homa::apps
