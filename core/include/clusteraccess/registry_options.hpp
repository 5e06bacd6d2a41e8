// RegistryOptions: how a Registry is tuned.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace clusteraccess {

/// Tuning of a `Registry`. The defaults suit a service. Every option is
/// checked when the registry is opened: a value out of its bounds throws 400
/// `Error::bad_parameter` naming the option and its bounds.
struct RegistryOptions {
  /// How long a writer waits for another connection's lock before the call
  /// fails with a 500 `Error`. From 0 to 1 hour. On PostgreSQL, the
  /// session's statement_timeout and lock_timeout.
  std::chrono::milliseconds busy_timeout{5000};
  /// Validity of each agent certificate, from the moment it is issued. From
  /// 1 second to 3650 days (10 years, the certificate authority's own
  /// validity, which no agent certificate outlives).
  std::chrono::seconds agent_certificate_validity{std::chrono::hours(24 * 365)};
  /// How long after a download the cluster's agent has to connect
  /// (`Registry::agent_connected`) before the cluster is Failed and its
  /// certificate counts as revoked (docs/contract.md, Lifecycle). From 1
  /// second to 7 days.
  std::chrono::seconds connection_window{std::chrono::minutes(30)};
  /// The file holding the 32-byte master key that seals the certificate
  /// authority's private key in the registry (AES-256-GCM). Empty: the
  /// default, `<registry path>.key` next to the registry file; for a
  /// ":memory:" registry, an ephemeral key that is never written anywhere.
  /// The key never enters the registry file, so a copy of that file alone
  /// does not give the CA key away. How it is created and checked: see
  /// `Registry`. Required for a PostgreSQL registry (no file to put it next
  /// to; every replica names the same file).
  std::string master_key_file;
  /// The current time in Unix seconds; the system clock when empty. Tests set
  /// it to move time without waiting.
  std::function<std::int64_t()> clock;
};

}  // namespace clusteraccess
