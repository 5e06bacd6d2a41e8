// Checks of the names and values that the registry stores or puts in YAML.
//
// Each accepts only a small, documented alphabet, so that a value that passed
// can go into SQL parameters, logs and YAML without escaping tricks.
#pragma once

#include <string_view>

namespace clusteraccess {

/// Cluster names: 4 to 128 characters of `a-z`, `0-9` and `-`, starting with
/// a letter and not ending with `-` (the rule of the cloud's console).
bool is_valid_cluster_name(std::string_view name) noexcept;

/// Principal (user) names: 1 to 64 characters of `A-Za-z0-9._@-`, starting
/// with a letter or digit.
bool is_valid_principal_name(std::string_view name) noexcept;

/// Region names: 1 to 63 characters of `a-z`, `0-9` and `-`, starting and
/// ending with a letter or digit, no `--` (e.g. "eu-de", "cn-north-4").
bool is_valid_region_name(std::string_view name) noexcept;

/// Proxy host names: an RFC 1123 DNS name (labels of 1 to 63 `a-z0-9-`
/// characters, not starting or ending with `-`, at most 253 characters in
/// all, case-insensitive, no trailing dot, and a last label that is not all
/// digits, so that "1.2.3" or "01.2.3.4" are not taken for names) or a literal
/// IPv4/IPv6 address as `is_ip_literal` (ip_address.hpp) accepts it.
bool is_valid_host_name(std::string_view host) noexcept;

/// Container image references: at most 255 characters of
/// `a-z0-9._-/:@`, with at least one `/` or `:`, not starting with `-`, `.`,
/// `/` or `:`, not ending with `/`, `:` or `@`, and no `..` or `//`.
bool is_valid_image_reference(std::string_view image) noexcept;

/// TCP ports: 1 to 65535.
bool is_valid_port(int port) noexcept;

}  // namespace clusteraccess
