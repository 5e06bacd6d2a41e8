// The SDK-HMAC-SHA256 request signature: parsing the Authorization header,
// rebuilding the canonical request exactly as huaweicloudsdkcore's signer
// (signer/signer.py, 3.1.219) builds it, and checking the HMAC with an SK
// (docs/contract.md, AK/SK).
//
// Verification runs in two steps, so that a request is refused for its form
// and its date before any storage read: `prepare` judges everything that
// needs no secret and yields the access key to look up and the string(s) to
// sign; `signature_matches` then checks them against that key's SK.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "clusteraccess/signed_request.hpp"

namespace clusteraccess::request_signature {

/// The algorithm, the one word before the parts of the Authorization header.
inline constexpr std::string_view kAlgorithm = "SDK-HMAC-SHA256";
/// How far X-Sdk-Date may be from the registry's clock, either way, and still
/// be accepted: at most this many seconds (the cloud API gateway's 15 minutes).
inline constexpr std::int64_t kMaxClockSkewSeconds = 15 * 60;
/// Bounds, past which a request is refused unread (no SDK comes near them).
inline constexpr std::size_t kMaxAuthorizationLength = 2048;
inline constexpr std::size_t kMaxSignedHeaders = 64;
inline constexpr std::size_t kMaxHeaderNameLength = 64;
inline constexpr std::size_t kMaxHeaders = 256;
inline constexpr std::size_t kMaxHeaderValueLength = 8192;
inline constexpr std::size_t kMaxPathLength = 8192;
inline constexpr std::size_t kMaxQueryLength = 8192;

/// `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>,
/// Signature=<hex>`, parsed. Views into the parsed value, which must
/// outlive it: a check copies nothing it only reads.
struct Authorization {
  std::string_view access_key;
  /// As listed, in order (duplicates kept: the SDK signs a header twice
  /// when its dict holds two spellings of one name).
  std::vector<std::string_view> signed_headers;
  std::string_view signature;  ///< 64 lowercase hex digits
};

/// The header's value parsed strictly: the algorithm exactly, one space,
/// then exactly the three parts `Access=`, `SignedHeaders=`, `Signature=`,
/// each once (in any order), separated by ", " as both SDKs write them; an
/// AK of 20 characters A-Z0-9; 1 to kMaxSignedHeaders names of 1 to
/// kMaxHeaderNameLength lowercase token characters; a signature of 64
/// lowercase hex digits; at most kMaxAuthorizationLength in all. Nothing for
/// anything else.
std::optional<Authorization> parse_authorization(std::string_view value);

/// The canonical URI of a raw (percent-encoded) path: the whole path
/// percent-decoded, its bytes read as UTF-8 (an invalid sequence becomes
/// U+FFFD, as Python's unquote does), split on "/", each segment encoded as
/// Python's quote(segment, safe='~') (A-Z a-z 0-9 - _ . ~ kept, every other
/// byte %XX in upper case), joined with "/", and a "/" appended unless it
/// ends with one.
std::string canonical_uri(std::string_view raw_path);

/// The canonical query of a raw query string: split on "&" (empty parts
/// skipped), each part on its first "=" (none: an empty value), keys and
/// values percent-decoded ("+" stays "+"), the pairs sorted by (key, value)
/// on their bytes (UTF-8 byte order is code point order, as Python sorts),
/// then encoded as the URI's segments and joined as "k=v" with "&".
std::string canonical_query(std::string_view raw_query);

/// The length of a string to sign: the algorithm, the date (exactly
/// YYYYMMDDTHHMMSSZ) and the hex SHA-256 of the canonical request, on three
/// lines.
inline constexpr std::size_t kStringToSignLength = kAlgorithm.size() + 1 + 16 + 1 + 64;

/// A request judged for everything but its secret: the access key to look
/// up and what its SK must sign. The views are into the request `prepare`
/// judged, which must outlive it.
struct PendingSignature {
  std::string_view access_key;
  std::string_view claimed_signature;  ///< from the header: 64 lowercase hex digits
  /// The string to sign, or two of them when the payload hash is ambiguous
  /// between the SDKs (an empty body with X-Sdk-Content-Sha256: the Python
  /// signer hashes the empty body, the Go signer takes the header's value).
  /// In place: each has the same length.
  std::array<std::array<char, kStringToSignLength>, 2> strings_to_sign{};
  std::size_t string_count = 0;

  std::string_view string_to_sign(std::size_t index) const noexcept {
    return {strings_to_sign[index].data(), strings_to_sign[index].size()};
  }
};

/// Judges `request` at Unix time `now`: the Authorization header (exactly
/// one, see parse_authorization), x-sdk-date among the signed headers, one
/// X-Sdk-Date header of the form YYYYMMDDTHHMMSSZ (a real UTC time) at most
/// kMaxClockSkewSeconds from `now` either way, each signed header present
/// exactly once, a well-formed body hash; and builds the canonical request
/// and the string to sign. The refusal otherwise. Never throws but
/// std::bad_alloc.
std::variant<PendingSignature, SignatureRefusal> prepare(const SignedRequest& request, std::int64_t now);

/// Whether HMAC-SHA256(`secret_key`, one of the strings to sign), in lowercase
/// hex, is the claimed signature; compared in constant time.
bool signature_matches(const PendingSignature& pending, std::string_view secret_key);

/// The lowercase hex HMAC-SHA256 of `string_to_sign` keyed with `secret_key`:
/// the signature a client sends.
std::string signature_hex(std::string_view secret_key, std::string_view string_to_sign);

/// The canonical request of `request` as signed by `authorization`, with
/// `payload_hash` as its last line; nothing when a signed header is missing
/// or repeated (exposed for the tests).
std::optional<std::string> canonical_request(const SignedRequest& request, const Authorization& authorization,
                              std::string_view payload_hash);

/// The text of a refusal, for a log: says which check failed, never a value.
const char* describe(SignatureRefusal refusal) noexcept;

}  // namespace clusteraccess::request_signature
