// The request and response of GET /v1/clusters/{clusterid}/accessinfo.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace clusteraccess {

/// One call of the API, with every value exactly as the caller sent it: the
/// library validates all of it. An empty string counts as "not given".
struct AccessRequest {
  std::string cluster_id;                  ///< path parameter `clusterid`
  std::optional<std::string> token;        ///< header `X-Auth-Token`
  std::optional<std::string> vpcendpoint;  ///< query parameter, private network only
  std::optional<std::string> region;       ///< query parameter, private network only
};

/// The 200 response.
struct AccessInfo {
  /// The response body: on the first download, one Kubernetes object per
  /// string as a YAML document (`"---\n"`-joined they are a file
  /// `kubectl apply -f` accepts); on every later call, {"Downloaded"}.
  std::vector<std::string> documents;
  /// The serial (lowercase hex) of the agent certificate issued by this call;
  /// set only on the first download.
  std::optional<std::string> certificate_serial;

  bool is_first_download() const noexcept { return certificate_serial.has_value(); }
};

/// The body returned for a cluster whose access information was downloaded before.
inline constexpr const char* kDownloaded = "Downloaded";

}  // namespace clusteraccess
