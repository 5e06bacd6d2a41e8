// The request and response of GET /v1/clusters/{clusterid}/accessinfo.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clusteraccess/delivery_guard.hpp"
#include "clusteraccess/signed_request.hpp"

namespace clusteraccess {

/// One call of the API, with every value exactly as the caller sent it: the
/// library validates all of it. An empty string counts as "not given".
struct AccessRequest {
  std::string cluster_id;                  ///< path parameter `clusterid`
  std::optional<std::string> token;        ///< header `X-Auth-Token`
  std::optional<std::string> vpcendpoint;  ///< query parameter, private network only
  std::optional<std::string> region;       ///< query parameter, private network only
  /// Whether the answer is still wanted (see `DeliveryGuard`): a first
  /// download is not committed once it is abandoned. Empty: the answer is
  /// always wanted (a command line, a library call).
  std::shared_ptr<const DeliveryGuard> delivery = nullptr;
  /// The request as received when it is signed with an access key (an
  /// `Authorization` header); judged by rule 1 as `Credentials::signature`
  /// is: a live `token` is enough, otherwise the signature decides.
  std::optional<SignedRequest> signature = std::nullopt;
};

/// The 200 response.
///
/// On a first download the documents hold the agent's private key, so they
/// are wiped (overwritten in place, with OpenSSL's cleanse) when the object
/// is destroyed or assigned over. It is movable -- a move hands the buffers
/// over and leaves the source empty -- but not copyable, so that no unwiped
/// copy is made by accident: whoever copies `documents` out makes a copy
/// that is theirs to wipe.
struct AccessInfo {
  AccessInfo() noexcept = default;
  AccessInfo(std::vector<std::string> documents, std::optional<std::string> certificate_serial,
             std::string principal = {}) noexcept;
  ~AccessInfo();
  AccessInfo(AccessInfo&& other) noexcept;
  AccessInfo& operator=(AccessInfo&& other) noexcept;
  AccessInfo(const AccessInfo&) = delete;
  AccessInfo& operator=(const AccessInfo&) = delete;

  /// The response body: on the first download, one Kubernetes object per
  /// string as a YAML document (`"---\n"`-joined they are a file
  /// `kubectl apply -f` accepts); on every later call, {"Downloaded"}.
  std::vector<std::string> documents;
  /// The serial (lowercase hex) of the agent certificate issued by this call;
  /// set only on the first download.
  std::optional<std::string> certificate_serial;
  /// The principal whose token (or access key) the request carried, for the front end's
  /// access log: set on the first download and on {"Downloaded"}, the
  /// answers that passed rule 1. A name, never a token.
  std::string principal;

  bool is_first_download() const noexcept { return certificate_serial.has_value(); }
};

/// The answer of `Registry::judge_access_info` for a request that passed
/// rules 1 to 5 on a cluster not yet downloaded: the caller, who holds a live
/// token and a grant, is about to get the first download, which only
/// `Registry::access_info` (or `try_access_info`) issues. It carries nothing
/// the caller may not know.
struct FirstDownloadAdmitted {
  /// The principal whose token the request carried (for the front end's
  /// access log; never a token).
  std::string principal;
};

/// The body returned for a cluster whose access information was downloaded before.
inline constexpr const char* kDownloaded = "Downloaded";

}  // namespace clusteraccess
