// The one error type of clusteraccess.
//
// Every failure the library reports is an `Error`: an HTTP-style status, a
// cloud error code (`UCS.` followed by 8 digits) and a human-readable message.
// The message never contains request values verbatim, file paths or SQL, so
// it can be returned to an untrusted caller as it is.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace clusteraccess {

/// The HTTP status an `Error` maps to.
enum class Status : int {
  kBadRequest = 400,  ///< the request is malformed or not allowed for this cluster
  kForbidden = 403,   ///< authentication or authorisation failed
  kNotFound = 404,    ///< an administrative lookup named something unknown
  kConflict = 409,    ///< an administrative insert collided with existing state
  kMethodNotAllowed = 405,  ///< the HTTP method is not one the route serves
  kRequestHeaderFieldsTooLarge = 431,  ///< the HTTP request head is over its bounds
  /// (nginx's "client closed request") the answer was abandoned before the
  /// download was committed; nothing was recorded. For a front end's log:
  /// no client ever receives it, since the client is gone.
  kClientClosedRequest = 499,
  kInternal = 500,    ///< storage, crypto or configuration failure; nothing was recorded
};

/// The error codes used in `Error::code()`.
namespace error_code {
inline constexpr std::string_view kForbidden = "UCS.01000004";               ///< 403
inline constexpr std::string_view kNotFound = "UCS.01000005";                ///< 404
inline constexpr std::string_view kAlreadyExists = "UCS.01000006";           ///< 409
inline constexpr std::string_view kStorageFailure = "UCS.01000007";          ///< 500
inline constexpr std::string_view kMethodNotAllowed = "UCS.01000008";        ///< 405
inline constexpr std::string_view kNotConfigured = "UCS.01000009";           ///< 500
inline constexpr std::string_view kHeaderTooLarge = "UCS.01000010";          ///< 431
inline constexpr std::string_view kBadParameter = "UCS.01000011";            ///< 400
inline constexpr std::string_view kRequestAbandoned = "UCS.01000012";        ///< 499, never sent
inline constexpr std::string_view kCertificateFailure = "UCS.01020002";      ///< 500
inline constexpr std::string_view kCategoryNotSupported = "UCS.01030011";    ///< 400
}  // namespace error_code

/// The exception thrown by every clusteraccess operation.
class Error : public std::runtime_error {
 public:
  Error(Status status, std::string_view code, std::string message);

  Status status() const noexcept { return status_; }
  int http_status() const noexcept { return static_cast<int>(status_); }
  const std::string& code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  /// The error body of the cloud API: {"error_code": "...", "error_msg": "..."}.
  std::string to_json() const;

  /// For the operator's log only, never in the body: which check refused a
  /// credential (for a signed request, e.g. "signature: X-Sdk-Date more than
  /// 15 minutes from the clock (access key AK...)"); empty for other errors.
  /// It never holds a token, a secret key or a signature.
  const std::string& log_detail() const noexcept { return log_detail_; }

  /// 403: the X-Auth-Token is missing, unknown, expired or revoked.
  static Error unauthenticated();
  /// The same 403, body and all, with `log_detail` for the front end's log
  /// (a signed request's refusal: see `SignatureRefusal`).
  static Error unauthenticated(std::string log_detail);
  /// 403: the cluster does not exist or the principal may not query it.
  /// Deliberately one body for both cases, so that it is no existence oracle.
  static Error cluster_forbidden();
  /// 403: an agent certificate that `Registry::agent_connected` refuses: not
  /// this CA's, not an agent's, not valid now, not the cluster's current
  /// one, revoked, or its connection window passed. One body for every case.
  static Error agent_certificate_refused();
  /// 400: `parameter` has a bad value; `reason` says what is wrong with it
  /// (never the value itself).
  static Error bad_parameter(std::string_view parameter, std::string_view reason);
  /// 400: `clusterid` is not a Kubernetes UUID (see `ClusterId`).
  static Error bad_cluster_id();
  /// 400: the cluster is a CCE cluster, not a third-party one.
  static Error category_not_supported();
  /// 404: an administrative lookup of `what` found nothing.
  static Error not_found(std::string_view what);
  /// 409: `what` exists already.
  static Error already_exists(std::string_view what);
  /// 500: the state could not be read or written.
  static Error storage(std::string_view detail);
  /// 500: a key or certificate could not be made or loaded.
  static Error certificates(std::string_view detail);
  /// 500: the installation lacks a setting the request needs; `what` names it
  /// and how to set it. Not a certificate failure: an operator must act.
  static Error not_configured(std::string_view what);
  /// 500: something failed that has no better name; the body says nothing more.
  static Error internal();
  /// 500: an internal failure that is neither storage, certificates nor
  /// configuration -- the random source failed, or a value the library had
  /// checked failed its second check; `detail` says which (never a request
  /// value). Same code as `internal()`.
  static Error internal(std::string_view detail);

  // Errors of an HTTP front end, so that it answers with this vocabulary and
  // this body rather than its own.

  /// 404: no route of the API has this path.
  static Error route_not_found();
  /// 405: the route exists but does not serve `method`.
  static Error method_not_allowed(std::string_view method);
  /// 400: the bytes received are not a valid HTTP request.
  static Error malformed_request();
  /// 431: the request head is over its bounds; `what` says which
  /// (e.g. "over 16384 bytes").
  static Error request_head_too_large(std::string_view what);
  /// 499: the request's `DeliveryGuard` was abandoned (the client went
  /// away) before its first download was committed: nothing was committed
  /// and the key was wiped unseen. Returned to the front end so that it can
  /// log "not committed: client gone"; no client ever receives it.
  static Error request_abandoned();

 private:
  Status status_;
  std::string code_;
  std::string message_;
  std::string log_detail_;
};

}  // namespace clusteraccess
