// Dotted-quad IPv4 text for the apps' flags and output (addresses are host-order integers).
#pragma once

#include <cstdint>
#include <string>

namespace homa::apps {

/** Parses dotted-quad IPv4 into host order; false if malformed. */
bool parse_ipv4(const std::string &s, uint32_t *out);
/** Formats a host-order IPv4 address. */
std::string format_ipv4(uint32_t ip);

}  // namespace homa::apps
