// What the registry knows of a cluster, and the vocabulary describing it.
#pragma once

#include <cstdint>
#include <map>
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

/// Where a cluster is in its lifecycle (docs/contract.md, Lifecycle).
enum class ClusterPhase {
  kPending,       ///< registered; access information not downloaded (in this generation)
  kInitializing,  ///< downloaded; waiting for the agent within the connection window
  kAvailable,     ///< the agent connected with the current certificate (or a CCE cluster)
  kFailed,        ///< the connection window passed without a connection
};

/// Whether a cluster belongs to a fleet ("grouped") or stands alone ("discrete").
enum class ManageType { kDiscrete, kGrouped };

/// "attachedcluster" or "self".
std::string_view to_string(ClusterCategory category) noexcept;
/// "Pending", "Initializing", "Available" or "Failed" (the SDK's status.phase).
std::string_view to_string(ClusterPhase phase) noexcept;
/// "discrete" or "grouped" (the SDK's spec.manageType).
std::string_view to_string(ManageType manage_type) noexcept;
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
/// This is the library's original vocabulary: each of these names is a
/// cluster type of the cloud's table, whose cloud provider follows from it
/// (eks is type eks of provider aws, ...; see `Cluster::type` and
/// `Cluster::cloud_provider`).
bool is_valid_provider(ClusterCategory category, std::string_view provider) noexcept;

/// What `Registry::register_cluster(const ClusterSpec&)` (the administrative
/// form) needs to know.
struct ClusterSpec {
  /// 4 to 128 characters: lowercase letters, digits and `-`, starting with a
  /// letter and not ending with `-`. Unique within the registry.
  std::string name;
  ClusterCategory category = ClusterCategory::kAttached;
  /// See `is_valid_provider`: the cluster's type in the original vocabulary.
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

  // The fields below were added with the cluster API (schema version 3).
  // `downloaded_at` and `certificate_serial` above are those of the current
  // generation: an activation clears them.

  /// The cluster type of the cloud's table (the SDK's spec.type); for a
  /// cluster registered with a `ClusterSpec`, its `provider`.
  std::string type{};
  /// The SDK's spec.provider (aws, azure, ..., huaweicloud); empty when none
  /// was given.
  std::string cloud_provider{};
  std::int64_t updated_at = 0;
  /// 1 at registration, one more after each activation.
  std::int64_t generation = 1;
  /// When the agent first connected in the current generation.
  std::optional<std::int64_t> connected_at{};
  /// Where the cluster is in its lifecycle, judged from the registry's clock
  /// when the cluster was read (a passed connection window is `kFailed`
  /// without anything having run).
  ClusterPhase phase = ClusterPhase::kPending;
  /// metadata.labels and metadata.annotations (without the access network,
  /// which is `network`).
  std::map<std::string, std::string> labels{};
  std::map<std::string, std::string> annotations{};
  std::string country{};  ///< empty when not given
  std::string city{};     ///< empty when not given
  ManageType manage_type = ManageType::kDiscrete;
  std::string cluster_group_id{};  ///< empty when not given

  /// The SDK's spec.IsDownloadedCert: the access information of the current
  /// generation has been downloaded.
  bool is_downloaded_cert() const noexcept { return downloaded_at.has_value(); }
};

}  // namespace clusteraccess
