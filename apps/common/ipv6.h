// IPv6 text for the apps' flags and output (addresses in network order, as on the wire), and
// the "IPv4[,IPv6]" form of --local_ip.
//
// Threading: pure functions. Errors: the parsers return false (and leave *out unspecified) for
// malformed text.
#pragma once

#include <cstdint>
#include <string>

#include "homa/proto/frame.h"
#include "homa/proto/ip_address.h"

namespace homa::apps {

/** Parses an IPv6 literal ("fd00::1", also "[fd00::1]"); false if malformed. */
bool parse_ipv6(const std::string &s, wire::Ipv6Addr *out);
/** Formats an IPv6 address in RFC 5952's canonical form ("fd00::1"). */
std::string format_ipv6(const wire::Ipv6Addr &ip);

/** An engine address: dotted quad for an IPv4-mapped one, else the IPv6 canonical form. */
std::string format_ip(const IpAddress &ip);
/** Dotted-quad IPv4 (held IPv4-mapped) or an IPv6 literal, with or without brackets. */
bool parse_ip(const std::string &s, IpAddress *out);

/** This host's addresses as --local_ip gives them: an IPv4 address, an IPv6 one, or both. */
struct LocalAddrs {
    uint32_t ipv4 = 0;      ///< Host order; 0 = none.
    wire::Ipv6Addr ipv6{};  ///< :: = none.
};

/** Parses "IPv4", "IPv6", or both separated by a comma in either order; false if malformed or
 *  if a family appears twice. */
bool parse_local_addrs(const std::string &s, LocalAddrs *out);

}  // namespace homa::apps
