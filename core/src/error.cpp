#include "clusteraccess/error.hpp"

#include <cstdio>

namespace clusteraccess {

namespace {

// JSON string escaping for the error body. Messages are ours, but they are
// escaped all the same so the body is always valid JSON.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string concat(std::string_view a, std::string_view b) {
  std::string s;
  s.reserve(a.size() + b.size());
  s.append(a).append(b);
  return s;
}

}  // namespace

Error::Error(Status status, std::string_view code, std::string message)
    : std::runtime_error(concat(concat(code, ": "), message)),
      status_(status),
      code_(code),
      message_(std::move(message)) {}

std::string Error::to_json() const {
  std::string body = "{\"error_code\": ";
  append_json_string(body, code_);
  body += ", \"error_msg\": ";
  append_json_string(body, message_);
  body += '}';
  return body;
}

Error Error::unauthenticated() {
  return Error(Status::kForbidden, error_code::kForbidden,
               "Request forbidden: the X-Auth-Token is missing, invalid or expired");
}

Error Error::unauthenticated(std::string log_detail) {
  Error error = unauthenticated();
  error.log_detail_ = std::move(log_detail);
  return error;
}

Error Error::cluster_forbidden() {
  return Error(Status::kForbidden, error_code::kForbidden,
               "Request forbidden: the cluster does not exist or you are not allowed to query it");
}

Error Error::agent_certificate_refused() {
  return Error(Status::kForbidden, error_code::kForbidden, "Request forbidden: agent certificate refused");
}

Error Error::bad_parameter(std::string_view parameter, std::string_view reason) {
  return Error(Status::kBadRequest, error_code::kBadParameter,
               concat(concat(concat("Bad parameter value: ", parameter), " "), reason));
}

Error Error::bad_cluster_id() {
  return bad_parameter("clusterid",
                       "must be a Kubernetes UUID: 36 characters, lowercase hexadecimal digits and "
                       "hyphens at offsets 8, 13, 18 and 23");
}

Error Error::category_not_supported() {
  return Error(Status::kBadRequest, error_code::kCategoryNotSupported,
               "Cluster category not supported: access information is only available for "
               "third-party (attached) clusters, not for CCE clusters");
}

Error Error::not_found(std::string_view what) {
  return Error(Status::kNotFound, error_code::kNotFound, concat(what, " not found"));
}

Error Error::already_exists(std::string_view what) {
  return Error(Status::kConflict, error_code::kAlreadyExists, concat(what, " already exists"));
}

Error Error::storage(std::string_view detail) {
  return Error(Status::kInternal, error_code::kStorageFailure,
               concat("Internal error: storage failure: ", detail));
}

Error Error::certificates(std::string_view detail) {
  return Error(Status::kInternal, error_code::kCertificateFailure,
               concat("Failed to get certs: ", detail));
}

Error Error::not_configured(std::string_view what) {
  return Error(Status::kInternal, error_code::kNotConfigured,
               concat("Installation not configured: ", what));
}

Error Error::internal() {
  return Error(Status::kInternal, error_code::kStorageFailure, "Internal error");
}

Error Error::internal(std::string_view detail) {
  return Error(Status::kInternal, error_code::kStorageFailure, concat("Internal error: ", detail));
}

Error Error::route_not_found() {
  return Error(Status::kNotFound, error_code::kNotFound, "Not found: no such API; see /openapi.json");
}

Error Error::method_not_allowed(std::string_view method) {
  return Error(Status::kMethodNotAllowed, error_code::kMethodNotAllowed,
               concat("Method not allowed: ", method));
}

Error Error::malformed_request() {
  return Error(Status::kBadRequest, error_code::kBadParameter,
               "Bad request: the request is not valid HTTP");
}

Error Error::request_head_too_large(std::string_view what) {
  return Error(Status::kRequestHeaderFieldsTooLarge, error_code::kHeaderTooLarge,
               concat("Request header fields too large: ", what));
}

Error Error::request_abandoned() {
  return Error(Status::kClientClosedRequest, error_code::kRequestAbandoned,
               "Client closed request: the answer was abandoned before the download was "
               "committed; nothing was recorded");
}

}  // namespace clusteraccess
