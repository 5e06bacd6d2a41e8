// Fuzz target: the checks of the private-network parameters (rule 5) and of
// the other names that reach SQL parameters and YAML.
//
// Properties, for every input:
//  - vpcendpoint: canonical_unicast_ip is idempotent (canonical(canonical(x))
//    == canonical(x)); an accepted input is an IP literal, and so is its
//    canonical text, which is short lowercase [0-9a-f.:] with at most one
//    "::" and no group with a leading zero; hex digits are case-insensitive
//    (the uppercased input has the same canonical text); for inputs without
//    ':' the result agrees with an independent dotted-quad parser and the
//    unicast rules of ip_address.hpp, and the canonical text is the input;
//  - region: is_valid_region_name agrees with a reference implementation;
//  - every name check (region, cluster, principal, host, image) accepts only
//    characters that are inert in YAML and SQL text: no quote, whitespace,
//    control character, '#', '&', '*', '!', '|', '>', '{', '}', '[', ']', ','
//    or '%'.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "ip_address.hpp"
#include "names.hpp"

namespace {

// Dotted quad, 0-255 without leading zeros, unicast as ip_address.hpp says.
std::optional<bool> reference_ipv4_unicast(std::string_view text) {
  int octets[4];
  int count = 0;
  std::size_t i = 0;
  while (count < 4) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return std::nullopt;
    const std::size_t start = i;
    int value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      if (value > 255) return std::nullopt;
      ++i;
    }
    if (i - start > 1 && text[start] == '0') return std::nullopt;
    octets[count++] = value;
    if (count < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  const bool unicast = !(octets[0] == 0 || octets[0] == 127 || octets[0] >= 224 ||
                         (octets[0] == 169 && octets[1] == 254));
  return unicast;
}

bool reference_region(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  const auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(name.front()) || !lower_alnum(name.back())) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!lower_alnum(name[i]) && name[i] != '-') return false;
    if (name[i] == '-' && i + 1 < name.size() && name[i + 1] == '-') return false;
  }
  return true;
}

bool inert(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("\"'`#&*!|>{}[],%\\;=?$()<~^").find(c) != std::string_view::npos) return false;
  }
  return true;
}

void check_canonical_text(const std::string& canonical) {
  FUZZ_CHECK(!canonical.empty() && canonical.size() <= 45);
  for (const char c : canonical) {
    FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '.' || c == ':');
  }
  const auto first = canonical.find("::");
  FUZZ_CHECK(first == std::string::npos || canonical.find("::", first + 1) == std::string::npos);
  if (canonical.find(':') != std::string::npos) {
    // RFC 5952 4.1: no leading zeros in a 16-bit group.
    std::size_t start = 0;
    while (start <= canonical.size()) {
      const auto end = std::min(canonical.find(':', start), canonical.size());
      const std::string_view group(canonical.data() + start, end - start);
      if (group.find('.') == std::string_view::npos) {
        FUZZ_CHECK(group.size() <= 4);
        FUZZ_CHECK(group.size() <= 1 || group.front() != '0');
      }
      start = end + 1;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace clusteraccess;
  const std::string text(reinterpret_cast<const char*>(data), size);

  // --- vpcendpoint
  const auto canonical = canonical_unicast_ip(text);
  if (canonical) {
    check_canonical_text(*canonical);
    FUZZ_CHECK(is_ip_literal(text));
    FUZZ_CHECK(is_ip_literal(*canonical));
    FUZZ_CHECK(canonical_unicast_ip(*canonical) == canonical);
    FUZZ_CHECK(inert(*canonical));
  }
  std::string upper = text;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  FUZZ_CHECK(canonical_unicast_ip(upper) == canonical);
  if (text.find(':') == std::string::npos) {
    const auto reference = reference_ipv4_unicast(text);
    FUZZ_CHECK(canonical.has_value() == (reference.has_value() && *reference));
    FUZZ_CHECK(is_ip_literal(text) == reference.has_value());
    if (canonical) FUZZ_CHECK(*canonical == text);
  }

  // --- region and the other names
  const bool region = is_valid_region_name(text);
  FUZZ_CHECK(region == reference_region(text));
  if (region) FUZZ_CHECK(inert(text));
  if (is_valid_cluster_name(text)) FUZZ_CHECK(inert(text) && text.size() >= 4 && text.size() <= 128);
  if (is_valid_principal_name(text)) FUZZ_CHECK(inert(text) && text.size() <= 64);
  if (is_valid_host_name(text)) FUZZ_CHECK(inert(text) && text.size() <= 253);
  if (is_valid_image_reference(text)) FUZZ_CHECK(inert(text) && text.size() <= 255);
  return 0;
}
