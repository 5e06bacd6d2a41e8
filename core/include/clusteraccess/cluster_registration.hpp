// ClusterRegistration: the body of POST /v1/clusters, as the SDK's RegisterCluster.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "clusteraccess/cluster.hpp"

namespace clusteraccess {

/// The SDK's RegisterCluster (with RegisterClusterMetadata and
/// RegisterClusterSpec), field for field, as a front end decoded it. Nothing
/// here is judged yet: `Registry::register_cluster(const Credentials&, const
/// ClusterRegistration&)` checks every field and answers 400 naming its JSON
/// path (e.g. "metadata.labels", "spec.type") for the first bad one. A field
/// that was absent (or JSON null) is nothing.
struct ClusterRegistration {
  std::optional<std::string> kind;         ///< "kind": must be "Cluster"
  std::optional<std::string> api_version;  ///< "apiVersion": must be "v1"

  std::optional<std::string> uid;   ///< "metadata.uid": the id to register under (k8s-uuid)
  std::optional<std::string> name;  ///< "metadata.name": required, see `ClusterSpec::name`
  /// "metadata.labels", in the order given.
  std::vector<std::pair<std::string, std::string>> labels;
  /// "metadata.annotations", in the order given.
  std::vector<std::pair<std::string, std::string>> annotations;

  std::optional<std::string> category;          ///< "spec.category": required
  std::optional<std::string> type;              ///< "spec.type": required
  std::optional<std::string> provider;          ///< "spec.provider"
  std::optional<std::string> country;           ///< "spec.country"
  std::optional<std::string> city;              ///< "spec.city"
  std::optional<std::string> manage_type;       ///< "spec.manageType"
  std::optional<std::string> cluster_group_id;  ///< "spec.clusterGroupID"

  /// The JSON paths of fields whose decoded value had the wrong JSON type
  /// (a number for a string, a list for an object, a non-string label
  /// value...). A decoding front end lists them here instead of judging
  /// them: the first one is answered 400 naming it.
  std::vector<std::string> mistyped;
};

/// One page of the clusters a principal may see.
struct ClusterPage {
  std::vector<Cluster> items;
  /// How many clusters the principal may see in all.
  std::int64_t total = 0;
};

}  // namespace clusteraccess
