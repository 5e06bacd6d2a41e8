// SignedRequest: an HTTP request signed with an access key (AK/SK), as the
// front end received it, for the core to verify (docs/contract.md, AK/SK).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace clusteraccess {

/// What the core needs of a request to verify its `SDK-HMAC-SHA256`
/// signature (the cloud API gateway's scheme, as `huaweicloudsdkcore`'s
/// signer computes it). Every value is exactly as received: the core
/// canonicalises, a front end must not.
struct SignedRequest {
  /// The HTTP method, e.g. "GET" (compared in upper case, as the signer
  /// writes it).
  std::string method;
  /// The request target's path as received, still percent-encoded, without
  /// the query, e.g. "/v1/clusters/ID/accessinfo".
  std::string raw_path;
  /// The query string as received, without the "?"; empty when there is none.
  std::string raw_query;
  /// Every header as received, (name, value), in the order received, names
  /// in any case. Among them `Authorization` (exactly one) and `X-Sdk-Date`.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The lowercase hex SHA-256 of the body as received; nothing when the
  /// request has no body (an empty body).
  std::optional<std::string> body_sha256;
};

/// Why a signed request was refused, for the front end's log only: the
/// answer is always the one 403 `Error::unauthenticated()` body, which tells
/// the caller nothing of this. `Error::log_detail()` carries its text.
enum class SignatureRefusal {
  kMalformedAuthorization,  ///< no, several, or an unparsable Authorization header
  kUnknownAccessKey,        ///< no access key has this AK
  kRevokedAccessKey,
  kExpiredAccessKey,
  kDateNotSigned,           ///< x-sdk-date is not among the signed headers
  kMalformedDate,           ///< X-Sdk-Date missing, repeated or not YYYYMMDDTHHMMSSZ
  kStaleDate,               ///< X-Sdk-Date more than 15 minutes from the registry's clock
  kMalformedRequest,        ///< a signed header missing or repeated, a bad body hash, ...
  kSignatureMismatch,       ///< the signature is not the one the SK makes
};

}  // namespace clusteraccess
