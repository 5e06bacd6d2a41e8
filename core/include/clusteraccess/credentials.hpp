// Credentials: how a caller of the cluster API proves who it is.
#pragma once

#include <optional>
#include <string>

namespace clusteraccess {

/// What a request to the cluster API carries to name its principal. Today
/// that is the X-Auth-Token; a signed request (AK/SK) will be another member,
/// judged by the same rule 1 (docs/contract.md, Rules): 403 `UCS.01000004`
/// unless it names a live principal.
struct Credentials {
  /// The X-Auth-Token header; nothing (or empty) when not given.
  std::optional<std::string> token;
};

}  // namespace clusteraccess
