#include "cluster_phase.hpp"

namespace clusteraccess {

ClusterPhase phase_of(ClusterCategory category, const std::optional<std::int64_t>& downloaded_at,
                      const std::optional<std::int64_t>& connected_at, std::int64_t now,
                      std::int64_t window) noexcept {
  if (category == ClusterCategory::kCce) return ClusterPhase::kAvailable;
  if (!downloaded_at) return ClusterPhase::kPending;
  if (connected_at) return ClusterPhase::kAvailable;
  // The same boundary as the store's SQL (sqlite_store.cpp): the window
  // ends at downloaded_at + window, and that second is already Failed.
  return now < *downloaded_at + window ? ClusterPhase::kInitializing : ClusterPhase::kFailed;
}

void judge_phase(Cluster& cluster, std::int64_t now, std::int64_t window) noexcept {
  cluster.phase = phase_of(cluster.category, cluster.downloaded_at, cluster.connected_at, now, window);
}

}  // namespace clusteraccess
