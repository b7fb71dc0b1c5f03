// IPv6 text for the apps' flags and output (addresses in network order, as on the wire). A
// host's own addresses (--local_ip) are parsed by homa::v2::parse_local_addresses
// (homa/v2/host.h), the one parser the library's Host and both apps share.
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

}  // namespace homa::apps
