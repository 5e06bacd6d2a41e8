// What the registry knows of a cluster, and the vocabulary describing it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clusteraccess/cluster_id.hpp"

namespace clusteraccess {

/// Whether a cluster is a third-party one attached to the management plane
/// ("attachedcluster") or a CCE cluster of the cloud itself ("self").
enum class ClusterCategory { kAttached, kCce };

/// How the cluster's proxy agent reaches the management plane.
enum class AccessNetwork { kPublic, kPrivate };

/// "attachedcluster" or "self".
std::string_view to_string(ClusterCategory category) noexcept;
/// "public" or "private".
std::string_view to_string(AccessNetwork network) noexcept;
/// Parses "attachedcluster" or "self"; throws `Error` 400 otherwise.
ClusterCategory parse_cluster_category(std::string_view text);
/// Parses "public" or "private"; throws `Error` 400 otherwise.
AccessNetwork parse_access_network(std::string_view text);
/// Parses "attachedcluster" or "self"; nothing otherwise.
std::optional<ClusterCategory> try_parse_cluster_category(std::string_view text) noexcept;
/// Parses "public" or "private"; nothing otherwise.
std::optional<AccessNetwork> try_parse_access_network(std::string_view text) noexcept;

/// The provider types a cluster of `category` may have: eks, aks, gke, ack,
/// tke, openshift, privatek8s for attached clusters; cce, turbo for CCE.
bool is_valid_provider(ClusterCategory category, std::string_view provider) noexcept;

/// What `Registry::register_cluster` needs to know.
struct ClusterSpec {
  /// 4 to 128 characters: lowercase letters, digits and `-`, starting with a
  /// letter and not ending with `-`. Unique within the registry.
  std::string name;
  ClusterCategory category = ClusterCategory::kAttached;
  /// See `is_valid_provider`.
  std::string provider;
  AccessNetwork network = AccessNetwork::kPublic;
  /// The id to register the cluster under; a new random id when empty.
  std::optional<ClusterId> id;
};

/// A registered cluster. Times are Unix seconds.
struct Cluster {
  ClusterId id;
  std::string name;
  ClusterCategory category;
  std::string provider;
  AccessNetwork network;
  std::int64_t created_at;
  /// Set once the access information has been downloaded.
  std::optional<std::int64_t> downloaded_at;
  /// Serial number (lowercase hex) of the agent certificate issued then.
  std::optional<std::string> certificate_serial;
};

}  // namespace clusteraccess
