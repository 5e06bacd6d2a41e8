#include "clusteraccess/lifecycle_event.hpp"

namespace clusteraccess {

std::string_view to_string(LifecycleEventKind kind) noexcept {
  switch (kind) {
    case LifecycleEventKind::kDownload: return "download";
    case LifecycleEventKind::kActivation: return "activation";
    case LifecycleEventKind::kConnection: return "connection";
    case LifecycleEventKind::kFailure: return "failure";
    case LifecycleEventKind::kDeletion: return "deletion";
  }
  return "download";
}

}  // namespace clusteraccess
