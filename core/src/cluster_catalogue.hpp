// The cloud's table of cluster categories, types and providers: the one place
// the library keeps it.
#pragma once

#include <optional>
#include <string_view>

#include "clusteraccess/cluster.hpp"

namespace clusteraccess::catalogue {

/// Why a (category, type, provider) combination is refused: the JSON field to
/// name in the 400, and what it must be.
struct Refusal {
  std::string_view field;   ///< "spec.category", "spec.type" or "spec.provider"
  std::string_view reason;  ///< e.g. "must be one of cce, turbo for category self"
};

/// Nothing when `type` and `provider` (empty: not given) are a row of the
/// table for `category`; else which field is wrong.
std::optional<Refusal> check(ClusterCategory category, std::string_view type,
                             std::string_view provider) noexcept;

/// True when `name` is a type of the library's original vocabulary for
/// `category` (`ClusterSpec::provider`: eks, aks, gke, ack, tke, openshift,
/// privatek8s; cce, turbo).
bool is_legacy_type(ClusterCategory category, std::string_view name) noexcept;

/// The cloud provider a type of the original vocabulary implies: eks -> aws,
/// aks -> azure, gke -> googlecloud, ack -> aliyun, tke -> tencentcloud,
/// openshift -> openshift, cce and turbo -> huaweicloud, privatek8s -> none
/// (empty: a self-built cluster runs anywhere). Empty for other names.
std::string_view legacy_cloud_provider(std::string_view type) noexcept;

/// The types of the original vocabulary, for the schema upgrade (version 2
/// stored them as "provider").
inline constexpr std::string_view kLegacyTypes[] = {"eks", "aks",        "gke", "ack",  "tke",
                                                    "openshift", "privatek8s", "cce", "turbo"};

}  // namespace clusteraccess::catalogue
