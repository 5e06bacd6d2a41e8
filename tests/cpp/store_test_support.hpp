// What the tests of a Store (either backend) make their clusters with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"

namespace clusteraccess::testing {

/// The time the store tests run at, in Unix seconds.
inline constexpr std::int64_t kNow = 1'700'000'000;

/// A new cluster, not downloaded, created at kNow.
inline Cluster make_cluster(std::string name, AccessNetwork network = AccessNetwork::kPublic,
                            ClusterCategory category = ClusterCategory::kAttached) {
  return Cluster{ClusterId::generate(),
                 std::move(name),
                 category,
                 category == ClusterCategory::kAttached ? "eks" : "cce",
                 network,
                 kNow,
                 std::nullopt,
                 std::nullopt};
}

}  // namespace clusteraccess::testing
