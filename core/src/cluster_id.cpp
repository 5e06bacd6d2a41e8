#include "clusteraccess/cluster_id.hpp"

#include <algorithm>

#include <boost/uuid/random_generator.hpp>

#include "clusteraccess/error.hpp"

namespace clusteraccess {

namespace {

constexpr std::size_t kLength = 36;

constexpr bool is_hyphen_offset(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

// Lowercase hex only: '0'-'9', 'a'-'f'. Returns -1 for anything else, which
// also covers uppercase, whitespace, NUL and every non-ASCII byte.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr char kDigits[] = "0123456789abcdef";

}  // namespace

bool is_valid_cluster_id(std::string_view text) noexcept {
  return ClusterId::try_parse(text).has_value();
}

std::optional<ClusterId> ClusterId::try_parse(std::string_view text) noexcept {
  if (text.size() != kLength) return std::nullopt;
  boost::uuids::uuid uuid{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < kLength; ++i) {
    if (is_hyphen_offset(i)) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    // Hex digits come in pairs that never straddle a hyphen.
    const int high = hex_value(text[i]);
    const int low = hex_value(text[++i]);
    if (high < 0 || low < 0) return std::nullopt;
    uuid.data[byte++] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return ClusterId(uuid);
}

ClusterId ClusterId::parse(std::string_view text) {
  if (auto id = try_parse(text)) return *id;
  throw Error::bad_cluster_id();
}

ClusterId ClusterId::generate() {
  // random_generator reads the operating system's entropy source.
  boost::uuids::random_generator generate_v4;
  return ClusterId(generate_v4());
}

ClusterId ClusterId::from_bytes(const std::array<std::uint8_t, 16>& bytes) noexcept {
  boost::uuids::uuid uuid{};
  std::copy(bytes.begin(), bytes.end(), uuid.begin());
  return ClusterId(uuid);
}

std::array<std::uint8_t, 16> ClusterId::bytes() const noexcept {
  std::array<std::uint8_t, 16> out{};
  std::copy(uuid_.begin(), uuid_.end(), out.begin());
  return out;
}

std::string ClusterId::str() const {
  std::string out;
  out.reserve(kLength);
  std::size_t byte = 0;
  for (std::size_t i = 0; i < kLength; ++i) {
    if (is_hyphen_offset(i)) {
      out += '-';
      continue;
    }
    const std::uint8_t value = uuid_.data[byte++];
    out += kDigits[value >> 4];
    out += kDigits[value & 0x0f];
    ++i;
  }
  return out;
}

}  // namespace clusteraccess
