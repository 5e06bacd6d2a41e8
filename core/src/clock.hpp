// The registry's notion of "now".
#pragma once

#include <chrono>
#include <cstdint>

#include "clusteraccess/registry_options.hpp"

namespace clusteraccess {

/// Unix seconds from `options.clock`, or from the system clock when unset.
inline std::int64_t unix_now(const RegistryOptions& options) {
  if (options.clock) return options.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace clusteraccess
