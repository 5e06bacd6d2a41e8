// The VPC endpoint address check.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace clusteraccess {

/// When `text` is a literal unicast IPv4 address (dotted quad, no leading
/// zeros) or IPv6 address (RFC 4291 text, no zone, no prefix length, no port,
/// no brackets), returns its canonical text (RFC 5952 for IPv6). Returns
/// nothing for anything else, including the unspecified, loopback, multicast,
/// broadcast and link-local addresses, which no VPC endpoint can have.
///
/// Rejected precisely: IPv4 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16,
/// 224.0.0.0/4 and 240.0.0.0/4 (which holds 255.255.255.255); IPv6 ::/96
/// (the unspecified and loopback addresses and the deprecated IPv4-compatible
/// form), fe80::/10 and ff00::/8. An IPv4-mapped address (::ffff:a.b.c.d) is
/// judged by the IPv4 rules and keeps its mapped text ("::ffff:10.0.0.1");
/// so is an address of the NAT64 well-known prefix 64:ff9b::/96 (RFC 6052),
/// which reaches the IPv4 address in its last 32 bits.
std::optional<std::string> canonical_unicast_ip(std::string_view text);

/// True when `text` is any literal IPv4 or IPv6 address under the same
/// textual rules as `canonical_unicast_ip`, whatever its range (so loopback
/// and multicast addresses count). Does not allocate.
bool is_ip_literal(std::string_view text) noexcept;

}  // namespace clusteraccess
