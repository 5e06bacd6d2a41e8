// The Python face of a DeliveryGuard: one request's delivery, shared with the core.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "clusteraccess/delivery_guard.hpp"

namespace clusteraccess::python {

// Python's `Delivery`. The guard is shared with every core call that was
// given it, so that `abandon()` -- a single atomic store, no lock, no GIL
// needed -- reaches a call running on a worker thread. What the answer
// carried is noted here by Registry.access_info (with the GIL held): a
// front end that lost its client logs which certificate it issued in vain.
struct Delivery {
  std::shared_ptr<DeliveryGuard> guard = std::make_shared<DeliveryGuard>();
  std::optional<std::string> principal;           // of the answer's token, never the token
  std::optional<std::string> certificate_serial;  // of a first download only
};

}  // namespace clusteraccess::python
