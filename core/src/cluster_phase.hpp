// The phase of a cluster, judged from its stored state and the clock.
#pragma once

#include <cstdint>
#include <optional>

#include "clusteraccess/cluster.hpp"

namespace clusteraccess {

/// docs/contract.md, Lifecycle. A CCE cluster has no agent: Available. An
/// attached one is Pending until downloaded, Available once its agent
/// connected, Initializing while `now` < `downloaded_at` + `window`, and
/// Failed from then on. Nothing runs when a window passes: the phase is
/// judged here, at every read, from the clock.
ClusterPhase phase_of(ClusterCategory category, const std::optional<std::int64_t>& downloaded_at,
                      const std::optional<std::int64_t>& connected_at, std::int64_t now,
                      std::int64_t window) noexcept;

/// Sets `cluster.phase` for `now` and `window`.
void judge_phase(Cluster& cluster, std::int64_t now, std::int64_t window) noexcept;

}  // namespace clusteraccess
