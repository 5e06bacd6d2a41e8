// LifecycleEvent: one entry of a cluster's audit trail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clusteraccess/cluster_id.hpp"

namespace clusteraccess {

/// What happened to a cluster.
enum class LifecycleEventKind {
  kDownload,    ///< its access information was downloaded (a certificate issued)
  kActivation,  ///< it was returned to Pending; the current certificate was revoked
  kConnection,  ///< its agent connected: it became Available
  kFailure,     ///< the connection window passed without a connection
  kDeletion,    ///< it was deleted; the current certificate was revoked
};

/// "download", "activation", "connection", "failure" or "deletion".
std::string_view to_string(LifecycleEventKind kind) noexcept;

/// One audit event. Times are Unix seconds.
struct LifecycleEvent {
  LifecycleEventKind kind;
  ClusterId cluster_id;
  std::int64_t at;
  /// Who did it: the principal of an API call, "admin" for an administrative
  /// call, "agent" for a connection, "clock" for a failure.
  std::string principal;
  /// The certificate the event is about: the one issued (download), revoked
  /// (activation, deletion, failure) or presented (connection); nothing when
  /// there was none (activating a cluster never downloaded).
  std::optional<std::string> certificate_serial;
  /// The cluster's generation the event belongs to.
  std::int64_t generation = 1;
};

}  // namespace clusteraccess
