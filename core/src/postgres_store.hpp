// PostgresStore: the Store on a PostgreSQL database, shared by replicas.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store.hpp"

namespace clusteraccess {

namespace postgres {
class Connection;
}

/// The shared backend: several processes, on several hosts, each with a
/// PostgresStore on one database, keep every guarantee of the Store
/// (docs/contract.md, Storage backends). Each calling thread borrows a
/// connection, with its prepared statements, from a pool shared by the
/// threads of the process. A connection found lost is dropped, with the
/// idle ones (a server restart loses them all), and the next call connects
/// again: a lost connection costs the calls in flight a 500, not a restart.
///
/// Transactions are READ COMMITTED: every conditional write (a download's
/// commit, an activation, a deletion, a connection, a revocation) takes the
/// cluster's row lock, and the loser of a race, woken when the winner
/// commits, evaluates its conditions again on the row's latest version and
/// changes nothing. Durability is the server's (fsync, synchronous_commit).
class PostgresStore final : public Store {
 public:
  /// Connects to `uri` (a libpq connection URI; the registry lives in the
  /// first schema of its search_path) and creates the schema, or checks it;
  /// statements and lock waits longer than `timeout` fail (`Error::storage`).
  PostgresStore(std::string uri, std::chrono::milliseconds timeout);
  ~PostgresStore() override;

  StoredCa certificate_authority(const std::function<StoredCa()>& create) override;
  /// Updates the key, then rewrites the table (VACUUM FULL), so that no
  /// dead row version holding the clear key stays in the table's files.
  /// The server's write-ahead log keeps the old value until it recycles the
  /// segment: docs/postgres.md.
  bool replace_clear_ca_key(std::string_view sealed) override;
  Settings settings() override;
  void set_settings(const SettingValues& values) override;
  void put_region(const Region& region) override;
  std::optional<Region> region(std::string_view name) override;
  std::vector<Region> regions() override;
  void insert_cluster(const Cluster& cluster) override;
  void insert_granted_cluster(const Cluster& cluster, std::string_view grantee) override;
  std::optional<Cluster> cluster(const ClusterId& id) override;
  std::vector<Cluster> clusters() override;
  ClusterListing granted_clusters(std::string_view principal, std::int64_t limit,
                                  std::int64_t offset) override;
  ChangeOutcome reactivate(const ClusterChange& change) override;
  ChangeOutcome delete_cluster(const ClusterChange& change) override;
  bool connect_agent(const ClusterId& id, std::string_view serial, std::int64_t now,
                     std::int64_t window) override;
  std::vector<StoredRevocation> revocations(std::int64_t now, std::int64_t window) override;
  std::vector<LifecycleEvent> events(const std::optional<ClusterId>& id, std::int64_t now,
                                     std::int64_t window) override;
  void insert_token(std::string_view principal, const TokenHash& hash, std::int64_t now,
                    std::int64_t expires_at) override;
  bool revoke_token(const TokenHash& hash, std::int64_t now) override;
  bool grant(std::string_view principal, const ClusterId& id, std::int64_t now) override;
  bool revoke_grant(std::string_view principal, const ClusterId& id) override;
  void insert_access_key(std::string_view principal, std::string_view access_key,
                         std::string_view sealed_secret, std::int64_t now, std::int64_t expires_at) override;
  bool revoke_access_key(std::string_view access_key, std::int64_t now) override;
  std::vector<AccessKeyInfo> access_keys() override;
  RequestState request_state(const TokenHash& hash, const std::optional<ClusterId>& id) override;
  SignedRequestState signed_request_state(std::string_view access_key,
                                          const std::optional<ClusterId>& id) override;
  bool record_download(const DownloadCommit& commit) override;
  std::vector<DownloadRecord> downloads() override;
  /// Refuses with `Error::not_configured`: the database is not a file;
  /// pg_dump takes a consistent copy.
  void backup(const std::string& destination) override;

 private:
  class Lease;

  Lease borrow();
  void give_back(std::unique_ptr<postgres::Connection> connection);
  void insert(const Cluster& cluster, std::optional<std::string_view> grantee);

  std::string uri_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<postgres::Connection>> idle_;
};

}  // namespace clusteraccess
