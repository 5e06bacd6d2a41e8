// Base64 encodings.
#pragma once

#include <string>
#include <string_view>

namespace clusteraccess {

/// Standard base64 (RFC 4648 section 4) with padding, on one line: the form of
/// a Kubernetes Secret's `data` values.
std::string base64_encode(std::string_view bytes);

/// URL-safe base64 (RFC 4648 section 5) without padding.
std::string base64url_encode(std::string_view bytes);

}  // namespace clusteraccess
