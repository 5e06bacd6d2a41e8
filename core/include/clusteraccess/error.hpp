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
  kInternal = 500,    ///< storage or crypto failure; nothing was recorded
};

/// The error codes used in `Error::code()`.
namespace error_code {
inline constexpr std::string_view kForbidden = "UCS.01000004";               ///< 403
inline constexpr std::string_view kNotFound = "UCS.01000005";                ///< 404
inline constexpr std::string_view kAlreadyExists = "UCS.01000006";           ///< 409
inline constexpr std::string_view kStorageFailure = "UCS.01000007";          ///< 500
inline constexpr std::string_view kBadParameter = "UCS.01000011";            ///< 400
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

  /// 403: the X-Auth-Token is missing, unknown, expired or revoked.
  static Error unauthenticated();
  /// 403: the cluster does not exist or the principal may not query it.
  /// Deliberately one body for both cases, so that it is no existence oracle.
  static Error cluster_forbidden();
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

 private:
  Status status_;
  std::string code_;
  std::string message_;
};

}  // namespace clusteraccess
