#include "names.hpp"

#include "ip_address.hpp"

namespace clusteraccess {

namespace {

constexpr bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
constexpr bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_lower_alnum(char c) noexcept { return is_lower(c) || is_digit(c); }
constexpr bool is_alnum(char c) noexcept { return is_lower(c) || is_upper(c) || is_digit(c); }

template <typename Predicate>
bool all_of(std::string_view text, Predicate allowed) noexcept {
  for (const char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool contains(std::string_view text, std::string_view part) noexcept {
  return text.find(part) != std::string_view::npos;
}

bool is_dns_label(std::string_view label) noexcept {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return all_of(label, [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_dns_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 253) return false;
  std::string_view label;
  for (;;) {
    const auto dot = name.find('.');
    label = name.substr(0, dot);
    if (!is_dns_label(label)) return false;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return !all_of(label, is_digit);
}

}  // namespace

bool is_valid_cluster_name(std::string_view name) noexcept {
  if (name.size() < 4 || name.size() > 128) return false;
  if (!is_lower(name.front()) || name.back() == '-') return false;
  return all_of(name, [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_valid_principal_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  if (!is_alnum(name.front())) return false;
  return all_of(name, [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '@' || c == '-'; });
}

bool is_valid_region_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63) return false;
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back())) return false;
  if (contains(name, "--")) return false;
  return all_of(name, [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_valid_host_name(std::string_view host) noexcept {
  return is_ip_literal(host) || is_dns_name(host);
}

bool is_valid_image_reference(std::string_view image) noexcept {
  if (image.empty() || image.size() > 255) return false;
  if (!all_of(image, [](char c) {
        return is_lower_alnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':' || c == '@';
      })) {
    return false;
  }
  if (!contains(image, "/") && !contains(image, ":")) return false;
  const char first = image.front();
  if (first == '-' || first == '.' || first == '/' || first == ':') return false;
  const char last = image.back();
  if (last == '/' || last == ':' || last == '@') return false;
  return !contains(image, "..") && !contains(image, "//");
}

bool is_valid_port(int port) noexcept { return port >= 1 && port <= 65535; }

}  // namespace clusteraccess
