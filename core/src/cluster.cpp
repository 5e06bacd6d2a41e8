#include "clusteraccess/cluster.hpp"

#include <array>

#include "clusteraccess/error.hpp"

namespace clusteraccess {

namespace {

constexpr std::array<std::string_view, 7> kAttachedProviders = {
    "eks", "aks", "gke", "ack", "tke", "openshift", "privatek8s"};
constexpr std::array<std::string_view, 2> kCceProviders = {"cce", "turbo"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& values, std::string_view value) noexcept {
  for (const auto v : values) {
    if (v == value) return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(ClusterCategory category) noexcept {
  return category == ClusterCategory::kAttached ? "attachedcluster" : "self";
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
  return category == ClusterCategory::kAttached ? contains(kAttachedProviders, provider)
                                                : contains(kCceProviders, provider);
}

}  // namespace clusteraccess
