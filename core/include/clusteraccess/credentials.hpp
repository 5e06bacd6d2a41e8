// Credentials: how a caller proves who it is.
#pragma once

#include <optional>
#include <string>

#include "clusteraccess/signed_request.hpp"

namespace clusteraccess {

/// What a request carries to name its principal: an X-Auth-Token, an AK/SK
/// signature, or both, judged by rule 1 (docs/contract.md, Rules and AK/SK):
/// 403 `UCS.01000004` unless one of them names a live principal. A live
/// token is enough, whatever the signature (the SDK signs every request);
/// otherwise the signature decides.
struct Credentials {
  /// The X-Auth-Token header; nothing (or empty) when not given.
  std::optional<std::string> token;
  /// The request as received, when it carries an `Authorization` header (a
  /// signed request); nothing otherwise.
  std::optional<SignedRequest> signature = std::nullopt;
};

}  // namespace clusteraccess
