#include "ip_address.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace clusteraccess {

namespace {

// The longest IPv6 text, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
constexpr std::size_t kMaxTextLength = 45;
static_assert(kMaxTextLength + 1 == INET6_ADDRSTRLEN);

struct Address {
  int family = AF_UNSPEC;
  std::array<unsigned char, 16> bytes{};
};

constexpr bool is_address_char(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
         c == ':';
}

// Only hex digits, '.' and ':' reach inet_pton: that keeps out NUL, whitespace,
// zones ('%'), prefixes ('/'), brackets and everything else inet_pton might
// be lenient about. glibc's inet_pton itself rejects leading zeros in an
// IPv4 octet, also inside an IPv6 address's dotted tail.
std::optional<Address> parse(std::string_view text) noexcept {
  if (text.empty() || text.size() > kMaxTextLength) return std::nullopt;
  for (const char c : text) {
    if (!is_address_char(c)) return std::nullopt;
  }
  std::array<char, kMaxTextLength + 1> buffer{};
  std::memcpy(buffer.data(), text.data(), text.size());

  Address address;
  address.family = text.find(':') == std::string_view::npos ? AF_INET : AF_INET6;
  if (inet_pton(address.family, buffer.data(), address.bytes.data()) != 1) return std::nullopt;
  return address;
}

bool is_unicast_v4(const unsigned char* b) noexcept {
  if (b[0] == 0 || b[0] == 127) return false;     // "this network", loopback
  if (b[0] >= 224) return false;                  // multicast, reserved, broadcast
  if (b[0] == 169 && b[1] == 254) return false;   // link-local
  return true;
}

bool is_unicast_v6(const std::array<unsigned char, 16>& b) noexcept {
  const auto zero_through = [&](std::size_t end) {
    for (std::size_t i = 0; i < end; ++i) {
      if (b[i] != 0) return false;
    }
    return true;
  };
  if (zero_through(12)) return false;  // ::/96: ::, ::1, IPv4-compatible
  if (zero_through(10) && b[10] == 0xff && b[11] == 0xff) return is_unicast_v4(&b[12]);
  // The NAT64 well-known prefix 64:ff9b::/96 (RFC 6052) reaches the IPv4
  // address it carries, so "64:ff9b::7f00:1" is 127.0.0.1 in disguise.
  static constexpr std::array<unsigned char, 12> kNat64Prefix{0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::equal(kNat64Prefix.begin(), kNat64Prefix.end(), b.begin())) return is_unicast_v4(&b[12]);
  if (b[0] == 0xff) return false;                          // multicast
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // link-local
  return true;
}

}  // namespace

std::optional<std::string> canonical_unicast_ip(std::string_view text) {
  const auto address = parse(text);
  if (!address) return std::nullopt;
  const bool unicast = address->family == AF_INET ? is_unicast_v4(address->bytes.data())
                                                  : is_unicast_v6(address->bytes);
  if (!unicast) return std::nullopt;

  std::array<char, INET6_ADDRSTRLEN> canonical{};
  if (inet_ntop(address->family, address->bytes.data(), canonical.data(),
                static_cast<socklen_t>(canonical.size())) == nullptr) {
    return std::nullopt;
  }
  return std::string(canonical.data());
}

bool is_ip_literal(std::string_view text) noexcept { return parse(text).has_value(); }

}  // namespace clusteraccess
