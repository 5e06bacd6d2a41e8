// Access keys (AK/SK): the second way, after tokens, for a principal to sign
// its requests (docs/contract.md, AK/SK).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace clusteraccess {

/// A new access key, as `Registry::create_access_key` returns it: the only
/// time its secret is seen. The registry keeps the SK sealed under the
/// master key and never returns it again.
struct NewAccessKey {
  std::string access_key;  ///< the AK: 20 characters A-Z0-9
  std::string secret_key;  ///< the SK: 40 characters A-Za-z0-9
  std::int64_t created_at = 0;  ///< Unix seconds
  std::int64_t expires_at = 0;  ///< Unix seconds; dead from this second on
};

/// An access key as `Registry::access_keys` lists it: never its secret.
struct AccessKeyInfo {
  std::string access_key;
  std::string principal;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> revoked_at;  ///< set once revoked
};

}  // namespace clusteraccess
