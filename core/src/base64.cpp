#include "base64.hpp"

#include <cstdint>

namespace clusteraccess {

namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::uint32_t byte_at(std::string_view bytes, std::size_t i) noexcept {
  return static_cast<unsigned char>(bytes[i]);
}

std::string encode(std::string_view bytes, const char (&alphabet)[65], bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto emit = [&](std::uint32_t group, std::size_t chars) {
    for (std::size_t k = 0; k < chars; ++k) out += alphabet[(group >> (18 - 6 * k)) & 0x3f];
  };

  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    emit(byte_at(bytes, i) << 16 | byte_at(bytes, i + 1) << 8 | byte_at(bytes, i + 2), 4);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    emit(byte_at(bytes, i) << 16, 2);
    if (pad) out += "==";
  } else if (rest == 2) {
    emit(byte_at(bytes, i) << 16 | byte_at(bytes, i + 1) << 8, 3);
    if (pad) out += '=';
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, kStandard, true); }

std::string base64url_encode(std::string_view bytes) { return encode(bytes, kUrlSafe, false); }

}  // namespace clusteraccess
