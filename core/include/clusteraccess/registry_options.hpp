// RegistryOptions: how a Registry is tuned.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace clusteraccess {

/// Tuning of a `Registry`. The defaults suit a service.
struct RegistryOptions {
  /// How long a writer waits for another connection's lock before the call
  /// fails with a 500 `Error`.
  std::chrono::milliseconds busy_timeout{5000};
  /// Validity of each agent certificate, from the moment it is issued.
  std::chrono::seconds agent_certificate_validity{std::chrono::hours(24 * 365)};
  /// The current time in Unix seconds; the system clock when empty. Tests set
  /// it to move time without waiting.
  std::function<std::int64_t()> clock;
};

}  // namespace clusteraccess
