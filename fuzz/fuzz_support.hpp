// Shared by the fuzz targets: a check that aborts (libFuzzer reports it as a
// crash and keeps the input), the split of an input into request fields, and
// a strict validator of the JSON error body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(condition)                                                                    \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);         \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)

namespace clusteraccess::fuzzing {

/// An input read as one flags byte followed by `count` fields. A field ends
/// at a backslash followed by any character other than a backslash; "\\\\"
/// stands for one backslash (the scheme of libFuzzer's FuzzedDataProvider,
/// so seed files stay readable: `id\ token\ ...`). The last field runs to the
/// end; missing fields are empty.
struct Fields {
  std::uint8_t flags = 0;
  std::vector<std::string> values;
};

inline Fields split_fields(const std::uint8_t* data, std::size_t size, std::size_t count) {
  Fields out;
  out.values.resize(count);
  if (size == 0) return out;
  out.flags = data[0];
  std::size_t field = 0;
  for (std::size_t i = 1; i < size && field < count; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\\' && i + 1 < size && field + 1 < count) {
      ++i;
      if (data[i] == '\\') {
        out.values[field] += '\\';
      } else {
        ++field;
      }
      continue;
    }
    out.values[field] += c;
  }
  return out;
}

/// True when `body` is exactly a JSON object of ASCII string members (the
/// error body {"error_code": "...", "error_msg": "..."}) with these two keys.
inline bool is_error_body(std::string_view body) {
  std::size_t i = 0;
  const auto ws = [&] {
    while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\t' || body[i] == '\r')) ++i;
  };
  const auto string = [&](std::string* out) {
    if (i >= body.size() || body[i] != '"') return false;
    ++i;
    while (i < body.size()) {
      const unsigned char c = static_cast<unsigned char>(body[i++]);
      if (c == '"') return true;
      if (c < 0x20 || c >= 0x80) return false;
      if (c == '\\') {
        if (i >= body.size()) return false;
        const char e = body[i++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k, ++i) {
            if (i >= body.size() || std::string_view("0123456789abcdefABCDEF").find(body[i]) == std::string_view::npos) {
              return false;
            }
          }
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return false;
      }
      if (out) *out += static_cast<char>(c);
    }
    return false;
  };
  std::vector<std::string> keys;
  ws();
  if (i >= body.size() || body[i++] != '{') return false;
  ws();
  for (;;) {
    std::string key;
    if (!string(&key)) return false;
    keys.push_back(key);
    ws();
    if (i >= body.size() || body[i++] != ':') return false;
    ws();
    if (!string(nullptr)) return false;
    ws();
    if (i >= body.size()) return false;
    if (body[i] == ',') {
      ++i;
      ws();
      continue;
    }
    if (body[i++] != '}') return false;
    break;
  }
  ws();
  return i == body.size() && keys == std::vector<std::string>{"error_code", "error_msg"};
}

}  // namespace clusteraccess::fuzzing
