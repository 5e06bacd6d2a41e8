// The rules of a cluster registration (POST /v1/clusters): every field of
// the SDK's RegisterCluster judged, each refusal a 400 naming its JSON path.
#pragma once

#include <optional>

#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/cluster_registration.hpp"

namespace clusteraccess {

/// A registration that passed every rule: the cluster to store (its id,
/// times and state left for the registry to fill in) and the id it asked for.
struct ValidRegistration {
  Cluster cluster;
  std::optional<ClusterId> id;  ///< metadata.uid, when given
};

/// The annotation that names the access network (docs/contract.md, Cluster API).
inline constexpr std::string_view kNetworkAnnotation = "clusteraccess/network";

/// Judges `registration`; throws `Error::bad_parameter` naming the JSON path
/// of the first bad field (the mistyped ones first, then kind, apiVersion,
/// metadata, spec in the SDK's order). Nothing is stored here.
ValidRegistration validate_registration(const ClusterRegistration& registration);

}  // namespace clusteraccess
