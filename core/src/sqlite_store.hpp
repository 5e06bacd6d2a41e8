// SqliteStore: the Store on one SQLite file (WAL).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store.hpp"
#include "timed_turn.hpp"

namespace clusteraccess {

/// The embedded backend. `path` ":memory:" gives a private in-memory
/// database (for tests), served to one caller at a time. Each calling thread
/// borrows a connection, with the prepared statements of the hot paths, from
/// a pool, so readers run in parallel (WAL) and those statements are
/// prepared once per connection, not per call.
///
/// Connections use WAL, synchronous=FULL (a committed download survives power
/// loss) and foreign keys. The file is created with mode 0600.
class SqliteStore final : public Store {
 public:
  /// Opens the registry at `path`, or creates it with its schema; refuses a
  /// damaged file, another program's database and a newer schema version
  /// (`Error::storage`).
  SqliteStore(std::string path, std::chrono::milliseconds busy_timeout);
  ~SqliteStore() override;

  StoredCa certificate_authority(const std::function<StoredCa()>& create) override;
  /// Updates the key with secure_delete on, then VACUUMs (every page of the
  /// file is rewritten, free pages are dropped) and checkpoints the WAL with
  /// TRUNCATE, so the old key is in neither the database file nor its WAL.
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
  void backup(const std::string& destination) override;

 private:
  struct Session;
  class Lease;

  std::unique_ptr<Session> open_session();
  void insert(const Cluster& cluster, std::optional<std::string_view> grantee);
  Lease borrow();
  void give_back(std::unique_ptr<Session> session);

  std::string path_;
  std::chrono::milliseconds busy_timeout_;
  std::mutex mutex_;
  // Held by record_download around its write transaction: threads of this
  // process that commit downloads queue here, and are woken as soon as the
  // writer before them is done, rather than in SQLite's busy handler, which
  // sleeps in growing steps between tries (other processes are still waited
  // for by the busy handler, up to the busy timeout).
  TimedTurn download_writer_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Session>> idle_;
};

}  // namespace clusteraccess
