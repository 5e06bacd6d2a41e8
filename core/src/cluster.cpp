#include "clusteraccess/cluster.hpp"

#include "cluster_catalogue.hpp"
#include "clusteraccess/error.hpp"

namespace clusteraccess {

std::string_view to_string(ClusterCategory category) noexcept {
  return category == ClusterCategory::kAttached ? "attachedcluster" : "self";
}

std::string_view to_string(ClusterPhase phase) noexcept {
  switch (phase) {
    case ClusterPhase::kPending: return "Pending";
    case ClusterPhase::kInitializing: return "Initializing";
    case ClusterPhase::kAvailable: return "Available";
    case ClusterPhase::kFailed: return "Failed";
  }
  return "Pending";
}

std::string_view to_string(ManageType manage_type) noexcept {
  return manage_type == ManageType::kGrouped ? "grouped" : "discrete";
}

std::string_view to_string(AccessNetwork network) noexcept {
  return network == AccessNetwork::kPublic ? "public" : "private";
}

std::optional<ClusterCategory> try_parse_cluster_category(std::string_view text) noexcept {
  for (const auto category : {ClusterCategory::kAttached, ClusterCategory::kCce}) {
    if (text == to_string(category)) return category;
  }
  return std::nullopt;
}

std::optional<AccessNetwork> try_parse_access_network(std::string_view text) noexcept {
  for (const auto network : {AccessNetwork::kPublic, AccessNetwork::kPrivate}) {
    if (text == to_string(network)) return network;
  }
  return std::nullopt;
}

ClusterCategory parse_cluster_category(std::string_view text) {
  if (const auto category = try_parse_cluster_category(text)) return *category;
  throw Error::bad_parameter("category", "must be \"attachedcluster\" or \"self\"");
}

AccessNetwork parse_access_network(std::string_view text) {
  if (const auto network = try_parse_access_network(text)) return *network;
  throw Error::bad_parameter("network", "must be \"public\" or \"private\"");
}

bool is_valid_provider(ClusterCategory category, std::string_view provider) noexcept {
  return catalogue::is_legacy_type(category, provider);
}

}  // namespace clusteraccess
