#include "postgres_store.hpp"

#include <array>
#include <utility>

#include "clusteraccess/error.hpp"
#include "postgres.hpp"
#include "postgres_schema.hpp"

namespace clusteraccess {

namespace {

using postgres::Params;
using postgres::Query;
using postgres::Result;

ClusterCategory stored_category(const std::string& text) {
  if (const auto category = try_parse_cluster_category(text)) return *category;
  throw Error::storage("stored cluster category is invalid");
}

AccessNetwork stored_network(const std::string& text) {
  if (const auto network = try_parse_access_network(text)) return *network;
  throw Error::storage("stored access network is invalid");
}

ManageType stored_manage_type(const std::string& text) {
  if (text == "grouped") return ManageType::kGrouped;
  if (text == "discrete") return ManageType::kDiscrete;
  throw Error::storage("stored manage type is invalid");
}

LifecycleEventKind stored_event_kind(const std::string& text) {
  for (const auto kind : {LifecycleEventKind::kDownload, LifecycleEventKind::kActivation,
                          LifecycleEventKind::kConnection, LifecycleEventKind::kFailure,
                          LifecycleEventKind::kDeletion}) {
    if (text == to_string(kind)) return kind;
  }
  throw Error::storage("stored event kind is invalid");
}

Params& add_id(Params& params, const ClusterId& id) {
  const auto bytes = id.bytes();
  return params.add_bytes(bytes.data(), bytes.size());
}

Params& add_hash(Params& params, const TokenHash& hash) { return params.add_bytes(hash.data(), hash.size()); }

ClusterId id_of(const Result& result, int row, int column) {
  const std::string bytes = result.bytes(row, column);
  std::array<std::uint8_t, 16> id{};
  if (bytes.size() != id.size()) throw Error::storage("stored value has an unexpected size");
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return ClusterId::from_bytes(id);
}

std::uint16_t port_of(const Result& result, int row, int column) {
  const auto port = result.integer(row, column);
  if (port < 1 || port > 65535) throw Error::storage("stored port is invalid");
  return static_cast<std::uint16_t>(port);
}

#define CLUSTER_COLUMNS                                                                                \
  "c.id, c.name, c.category, c.provider, c.network, c.created_at, c.downloaded_at, c.certificate_serial, " \
  "c.type, c.updated_at, c.generation, c.connected_at, c.country, c.city, c.manage_type, c.cluster_group_id"

// The `provider` column holds the SDK's provider; `Cluster::provider` is the
// type in the original vocabulary (cluster.hpp).
Cluster cluster_of(const Result& r, int row) {
  Cluster cluster{id_of(r, row, 0),
                  r.text(row, 1),
                  stored_category(r.text(row, 2)),
                  r.text(row, 8),
                  stored_network(r.text(row, 4)),
                  r.integer(row, 5),
                  r.optional_integer(row, 6),
                  r.optional_text(row, 7)};
  cluster.type = cluster.provider;
  cluster.cloud_provider = r.text(row, 3);
  cluster.updated_at = r.integer(row, 9);
  cluster.generation = r.integer(row, 10);
  cluster.connected_at = r.optional_integer(row, 11);
  cluster.country = r.text(row, 12);
  cluster.city = r.text(row, 13);
  cluster.manage_type = stored_manage_type(r.text(row, 14));
  cluster.cluster_group_id = r.text(row, 15);
  return cluster;
}

// The statements of every method, prepared once per connection.
constexpr Query kSelectCa{"select_ca",
                          "SELECT certificate_pem, private_key, key_sealed FROM certificate_authority"};
constexpr Query kInsertCa{"insert_ca",
                          "INSERT INTO certificate_authority (id, certificate_pem, private_key, created_at, "
                          "key_sealed) VALUES (1, $1, $2, extract(epoch FROM now())::bigint, $3::boolean)"};
constexpr Query kSealCa{"seal_ca",
                        "UPDATE certificate_authority SET private_key = $1, key_sealed = true "
                        "WHERE NOT key_sealed"};
constexpr Query kSelectSettings{"select_settings", "SELECT key, value FROM settings"};
constexpr Query kUpsertSetting{"upsert_setting",
                               "INSERT INTO settings (key, value) VALUES ($1, $2) "
                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value"};
constexpr Query kUpsertRegion{"upsert_region",
                              "INSERT INTO regions (name, proxy_host, proxy_port) VALUES ($1, $2, $3) "
                              "ON CONFLICT (name) DO UPDATE SET proxy_host = excluded.proxy_host, "
                              "proxy_port = excluded.proxy_port"};
constexpr Query kSelectRegion{"select_region", "SELECT name, proxy_host, proxy_port FROM regions WHERE name = $1"};
constexpr Query kSelectRegions{"select_regions", "SELECT name, proxy_host, proxy_port FROM regions ORDER BY name"};
// Whether the id (true) or else the name (false) is taken; no row when
// neither is. One probe of each unique index: a single scan for "id or name"
// would read the whole table.
constexpr Query kClusterTaken{"cluster_taken",
                              "SELECT bool_or(by_id) FROM (SELECT true AS by_id FROM clusters WHERE id = $1 "
                              "UNION ALL SELECT false FROM clusters WHERE name = $2 "
                              "UNION ALL SELECT true FROM deleted_clusters WHERE id = $1) AS taken "
                              "HAVING count(*) > 0"};
constexpr Query kInsertCluster{"insert_cluster",
                               "INSERT INTO clusters (id, name, category, provider, network, created_at, type, "
                               "updated_at, country, city, manage_type, cluster_group_id) "
                               "VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, $9, $10, $11)"};
constexpr Query kInsertMetadata{"insert_metadata",
                                "INSERT INTO cluster_metadata (cluster_id, kind, key, value) VALUES ($1, $2, $3, $4)"};
constexpr Query kSelectMetadata{"select_metadata",
                                "SELECT kind, key, value FROM cluster_metadata WHERE cluster_id = $1"};
constexpr Query kAddPrincipal{"add_principal",
                              "INSERT INTO principals (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"};
constexpr Query kInsertGrant{"insert_grant",
                             "INSERT INTO grants (principal, cluster_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"};
constexpr Query kSelectCluster{"select_cluster", "SELECT " CLUSTER_COLUMNS " FROM clusters AS c WHERE c.id = $1"};
constexpr Query kSelectClusters{"select_clusters",
                                "SELECT " CLUSTER_COLUMNS " FROM clusters AS c ORDER BY c.created_at, c.name"};
constexpr Query kCountGrants{"count_grants", "SELECT count(*) FROM grants WHERE principal = $1"};
constexpr Query kGrantedClusters{"granted_clusters",
                                 "SELECT " CLUSTER_COLUMNS " FROM grants AS g JOIN clusters AS c ON c.id = g.cluster_id "
                                 "WHERE g.principal = $1 ORDER BY g.cluster_id LIMIT $2 OFFSET $3"};
// The cluster of a change, locked for the rest of its transaction: a
// racing download's commit, connection or other change waits for it, and
// it for them. The API form reaches the cluster only through the grant.
constexpr Query kLockChanged{"lock_changed",
                             "SELECT " CLUSTER_COLUMNS " FROM clusters AS c WHERE c.id = $1 FOR UPDATE"};
constexpr Query kLockGranted{"lock_granted",
                             "SELECT " CLUSTER_COLUMNS " FROM clusters AS c WHERE c.id = $1 "
                             "AND EXISTS (SELECT 1 FROM grants WHERE principal = $2 AND cluster_id = $1) FOR UPDATE"};
constexpr Query kInsertEvent{"insert_event",
                             "INSERT INTO events (kind, cluster_id, generation, at, principal, certificate_serial) "
                             "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"};
constexpr Query kInsertRevocation{"insert_revocation",
                                  "INSERT INTO revocations (certificate_serial, cluster_id, revoked_at, reason) "
                                  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"};
constexpr Query kNextGeneration{"next_generation",
                                "UPDATE clusters SET downloaded_at = NULL, certificate_serial = NULL, "
                                "connected_at = NULL, generation = generation + 1, updated_at = $2 WHERE id = $1"};
constexpr Query kDeleteGrants{"delete_grants", "DELETE FROM grants WHERE cluster_id = $1"};
constexpr Query kDeleteMetadata{"delete_metadata", "DELETE FROM cluster_metadata WHERE cluster_id = $1"};
constexpr Query kDeleteCluster{"delete_cluster", "DELETE FROM clusters WHERE id = $1"};
constexpr Query kTombstone{"tombstone", "INSERT INTO deleted_clusters (id, deleted_at) VALUES ($1, $2)"};
// The window is the one of phase_of (cluster_phase.cpp): open while
// now < downloaded_at + window.
constexpr Query kLockConnecting{
    "lock_connecting",
    "SELECT generation, connected_at IS NOT NULL FROM clusters "
    "WHERE id = $1 AND category = 'attachedcluster' AND certificate_serial = $2 "
    "AND (connected_at IS NOT NULL OR downloaded_at > $3::bigint - $4::bigint) "
    "AND NOT EXISTS (SELECT 1 FROM revocations WHERE certificate_serial = $2) FOR UPDATE"};
constexpr Query kMarkConnected{"mark_connected",
                               "UPDATE clusters SET connected_at = $2, updated_at = $2 WHERE id = $1"};
constexpr Query kRevocations{"revocations",
                             "SELECT certificate_serial, revoked_at FROM revocations "
                             "UNION ALL "
                             "SELECT certificate_serial, downloaded_at + $2::bigint FROM clusters "
                             "WHERE downloaded_at IS NOT NULL AND connected_at IS NULL "
                             "AND downloaded_at <= $1::bigint - $2::bigint"};
constexpr Query kRecordFailures{
    "record_failures",
    "INSERT INTO events (kind, cluster_id, generation, at, principal, certificate_serial) "
    "SELECT 'failure', id, generation, downloaded_at + $2::bigint, 'clock', certificate_serial FROM clusters "
    "WHERE downloaded_at IS NOT NULL AND connected_at IS NULL AND downloaded_at <= $1::bigint - $2::bigint "
    "ON CONFLICT DO NOTHING"};
// Events of one second are put in the order they happen within a
// generation (download, then connection or failure, then activation or
// deletion), older generations first.
#define EVENTS_OF(where)                                                                               \
  "SELECT kind, cluster_id, at, principal, certificate_serial, generation FROM ("                      \
  "SELECT 'download' AS kind, cluster_id, downloaded_at AS at, principal, certificate_serial, "        \
  "generation, 0 AS rank, id FROM downloads " where                                                    \
  " UNION ALL SELECT kind, cluster_id, at, principal, certificate_serial, generation, "                 \
  "CASE kind WHEN 'connection' THEN 1 WHEN 'failure' THEN 1 ELSE 2 END AS rank, id FROM events " where \
  ") AS e ORDER BY at, generation, rank, id"
constexpr Query kAllEvents{"all_events", EVENTS_OF("")};
constexpr Query kClusterEvents{"cluster_events", EVENTS_OF("WHERE cluster_id = $1")};
constexpr Query kInsertToken{"insert_token",
                             "INSERT INTO tokens (hash, principal, created_at, expires_at) VALUES ($1, $2, $3, $4)"};
constexpr Query kRevokeToken{"revoke_token",
                             "UPDATE tokens SET revoked_at = coalesce(revoked_at, $2) WHERE hash = $1"};
// FOR SHARE: a deletion racing the grant waits for it (or it for the
// deletion, and then finds no cluster).
constexpr Query kLockExisting{"lock_existing", "SELECT 1 FROM clusters WHERE id = $1 FOR SHARE"};
constexpr Query kRevokeGrant{"revoke_grant", "DELETE FROM grants WHERE principal = $1 AND cluster_id = $2"};
// The token and the cluster access in one statement, one round trip. The
// cluster is reached only through the principal's grant, which carries its
// cluster's access state (schema version 5, postgres_schema.cpp): without
// a grant, the same primary-key probe misses whether the cluster exists, is
// downloaded or not, so the work (and the time) is the same and tells
// nothing. Two relations, not three: the read is all a repeat request costs.
constexpr Query kRequestState{"request_state",
                              "SELECT t.hash, t.principal, t.expires_at, t.revoked_at IS NOT NULL, "
                              "g.category, g.network, g.downloaded, g.generation "
                              "FROM tokens AS t "
                              "LEFT JOIN grants AS g ON g.principal = t.principal AND g.cluster_id = $2 "
                              "WHERE t.hash = $1"};
// A request whose cluster id is not one (its syntax alone says so, so the
// choice tells nothing): the token only.
constexpr Query kTokenState{"token_state",
                            "SELECT hash, principal, expires_at, revoked_at IS NOT NULL FROM tokens WHERE hash = $1"};
// The same for a signed request, through the access key's principal.
constexpr Query kSignedRequestState{"signed_request_state",
                                    "SELECT k.principal, k.sealed_secret, k.expires_at, k.revoked_at IS NOT NULL, "
                                    "g.category, g.network, g.downloaded, g.generation "
                                    "FROM access_keys AS k "
                                    "LEFT JOIN grants AS g ON g.principal = k.principal AND g.cluster_id = $2 "
                                    "WHERE k.access_key = $1"};
constexpr Query kAccessKeyState{"access_key_state",
                                "SELECT principal, sealed_secret, expires_at, revoked_at IS NOT NULL "
                                "FROM access_keys WHERE access_key = $1"};

// The cluster access of a request state's answer (columns 4 to 7).
std::optional<ClusterAccess> access_of(const Result& result) {
  if (result.is_null(0, 4)) return std::nullopt;
  return ClusterAccess{stored_category(result.text(0, 4)), stored_network(result.text(0, 5)), result.boolean(0, 6),
                       result.integer(0, 7)};
}
constexpr Query kInsertAccessKey{"insert_access_key",
                                 "INSERT INTO access_keys (access_key, principal, sealed_secret, created_at, "
                                 "expires_at) VALUES ($1, $2, $3, $4, $5)"};
constexpr Query kRevokeAccessKey{"revoke_access_key",
                                 "UPDATE access_keys SET revoked_at = coalesce(revoked_at, $2) WHERE access_key = $1"};
constexpr Query kAccessKeys{"access_keys",
                            "SELECT access_key, principal, created_at, expires_at, revoked_at FROM access_keys "
                            "ORDER BY created_at, access_key"};
// The download's conditional commit and its audit record, one statement:
// the UPDATE takes the cluster's row lock, and under READ COMMITTED a racing
// commit that waited for the lock evaluates the WHERE again on the row's
// latest version -- so of racing commits exactly one changes a row; the
// others change nothing and, their `marked` being empty, insert no audit
// record either. The conditions re-check what the rules checked before the
// key was made: a revoked grant or token (the access key, for a signed
// request: $7 set), or an activation (a new generation) meanwhile, also make
// it change nothing. The audit record fails the whole statement when it
// cannot be written (e.g. its serial is recorded already): never one
// without the other.
constexpr Query kRecordDownload{
    "record_download",
    "WITH marked AS (UPDATE clusters SET downloaded_at = $1, certificate_serial = $2, updated_at = $1 "
    "WHERE id = $3 AND downloaded_at IS NULL AND generation = $6 "
    "AND EXISTS (SELECT 1 FROM grants WHERE principal = $4 AND cluster_id = $3) "
    "AND (($7::text IS NULL AND EXISTS (SELECT 1 FROM tokens WHERE hash = $5 AND principal = $4 "
    "AND revoked_at IS NULL AND expires_at > $1)) "
    "OR ($7::text IS NOT NULL AND EXISTS (SELECT 1 FROM access_keys WHERE access_key = $7::text "
    "AND principal = $4 AND revoked_at IS NULL AND expires_at > $1))) RETURNING id, generation) "
    "INSERT INTO downloads (cluster_id, principal, downloaded_at, certificate_serial, network, region, "
    "vpcendpoint, generation) SELECT id, $4, $1, $2, $8, $9, $10, generation FROM marked RETURNING id"};
constexpr Query kDownloads{"downloads",
                           "SELECT cluster_id, principal, downloaded_at, certificate_serial, network, region, "
                           "vpcendpoint FROM downloads ORDER BY id"};

void read_metadata(postgres::Connection& db, Cluster& cluster) {
  Params params;
  const auto metadata = db.run(kSelectMetadata, add_id(params, cluster.id));
  for (int row = 0; row < metadata.rows(); ++row) {
    auto& target = metadata.text(row, 0) == "label" ? cluster.labels : cluster.annotations;
    target.emplace(metadata.text(row, 1), metadata.text(row, 2));
  }
}

std::vector<Cluster> clusters_of(postgres::Connection& db, const Result& result) {
  std::vector<Cluster> out;
  for (int row = 0; row < result.rows(); ++row) out.push_back(cluster_of(result, row));
  for (auto& cluster : out) read_metadata(db, cluster);
  return out;
}

void insert_event(postgres::Connection& db, std::string_view kind, const ClusterId& id, std::int64_t generation,
                  std::int64_t at, std::string_view principal, const std::optional<std::string>& serial) {
  Params params;
  params.add(kind);
  add_id(params, id).add(generation).add(at).add(principal).add(serial);
  db.run(kInsertEvent, params);
}

// What an activation or a deletion does to the current certificate, inside
// its transaction: revoked now, or -- when the generation failed -- since
// its window ended, with its failure event.
void revoke_current(postgres::Connection& db, const Cluster& cluster, const ClusterChange& change,
                    std::string_view reason) {
  if (!cluster.downloaded_at || !cluster.certificate_serial) return;
  const bool failed = !cluster.connected_at && *cluster.downloaded_at + change.window <= change.now;
  std::int64_t revoked_at = change.now;
  std::string_view why = reason;
  if (failed) {
    revoked_at = *cluster.downloaded_at + change.window;
    why = "connection window passed";
    insert_event(db, "failure", cluster.id, cluster.generation, revoked_at, "clock", cluster.certificate_serial);
  }
  Params params;
  params.add(*cluster.certificate_serial);
  add_id(params, cluster.id).add(revoked_at).add(why);
  db.run(kInsertRevocation, params);
}

// The cluster of a change, locked: nothing when it does not exist or, for
// the API form, the principal holds no grant on it.
std::optional<Cluster> lock_changed(postgres::Connection& db, const ClusterChange& change) {
  Params params;
  add_id(params, change.cluster_id);
  if (change.principal) params.add(*change.principal);
  const auto result = db.run(change.principal ? kLockGranted : kLockChanged, params);
  if (result.rows() == 0) return std::nullopt;
  return cluster_of(result, 0);
}

}  // namespace

// A connection borrowed from the pool for the length of one call; given
// back when the call ends, dropped when it was lost.
class PostgresStore::Lease {
 public:
  Lease(PostgresStore& store, std::unique_ptr<postgres::Connection> connection) noexcept
      : store_(store), connection_(std::move(connection)) {}
  ~Lease() { store_.give_back(std::move(connection_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  postgres::Connection& operator*() const noexcept { return *connection_; }

 private:
  PostgresStore& store_;
  std::unique_ptr<postgres::Connection> connection_;
};

PostgresStore::PostgresStore(std::string uri, std::chrono::milliseconds timeout)
    : uri_(std::move(uri)), timeout_(timeout) {
  auto connection = std::make_unique<postgres::Connection>(uri_, timeout_);
  create_or_check_postgres_schema(*connection);
  idle_.push_back(std::move(connection));
}

PostgresStore::~PostgresStore() = default;

PostgresStore::Lease PostgresStore::borrow() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  // Connecting happens outside the pool's lock: it may wait for the server.
  return Lease(*this, std::make_unique<postgres::Connection>(uri_, timeout_));
}

void PostgresStore::give_back(std::unique_ptr<postgres::Connection> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (connection->usable() && !connection->in_transaction()) {
    idle_.push_back(std::move(connection));
  } else if (connection->usable()) {
    // A transaction left open would hold its locks for whoever borrows it
    // next: this one is dropped (Transaction rolls back, so it is a bug).
  } else {
    // A connection is lost mostly because the server restarted or the
    // network failed: the idle ones are lost too, and each would cost a
    // call its 500 before being found out.
    idle_.clear();
  }
}

StoredCa PostgresStore::certificate_authority(const std::function<StoredCa()>& create) {
  auto lease = borrow();
  auto& db = *lease;
  const auto load = [&db]() -> std::optional<StoredCa> {
    const auto result = db.run(kSelectCa, Params());
    if (result.rows() == 0) return std::nullopt;
    return StoredCa{result.text(0, 0), SecretString(result.bytes(0, 1)), result.boolean(0, 2)};
  };
  if (auto stored = load()) return std::move(*stored);

  postgres::Transaction transaction(db);
  // Self-conflicting and held to the commit: of racing creators one runs
  // `create` at a time, and the next one finds its CA (readers go on).
  db.exec("LOCK TABLE certificate_authority IN SHARE ROW EXCLUSIVE MODE");
  if (auto stored = load()) return std::move(*stored);
  StoredCa stored = create();
  Params params;
  params.add(stored.certificate_pem)
      .add_bytes(stored.private_key.view().data(), stored.private_key.view().size())
      .add(stored.key_sealed ? "true" : "false");
  db.run(kInsertCa, params);
  transaction.commit();
  return stored;
}

bool PostgresStore::replace_clear_ca_key(std::string_view sealed) {
  auto lease = borrow();
  auto& db = *lease;
  {
    postgres::Transaction transaction(db);
    Params params;
    if (db.run(kSealCa, params.add_bytes(sealed.data(), sealed.size())).affected() != 1) return false;
    transaction.commit();
  }
  // The old row version stays in the table's pages until a vacuum; VACUUM
  // FULL writes the table anew and drops the old files.
  db.exec("VACUUM FULL certificate_authority");
  return true;
}

Settings PostgresStore::settings() {
  auto lease = borrow();
  const auto result = (*lease).run(kSelectSettings, Params());
  Settings out;
  for (int row = 0; row < result.rows(); ++row) out.emplace(result.text(row, 0), result.text(row, 1));
  return out;
}

void PostgresStore::set_settings(const SettingValues& values) {
  auto lease = borrow();
  auto& db = *lease;
  postgres::retrying([&] {
    postgres::Transaction transaction(db);
    for (const auto& [key, value] : values) {
      Params params;
      db.run(kUpsertSetting, params.add(key).add(value));
    }
    transaction.commit();
  });
}

void PostgresStore::put_region(const Region& region) {
  auto lease = borrow();
  Params params;
  params.add(region.name).add(region.proxy.host).add(std::int64_t{region.proxy.port});
  (*lease).run(kUpsertRegion, params);
}

std::optional<Region> PostgresStore::region(std::string_view name) {
  auto lease = borrow();
  Params params;
  const auto result = (*lease).run(kSelectRegion, params.add(name));
  if (result.rows() == 0) return std::nullopt;
  return Region{result.text(0, 0), {result.text(0, 1), port_of(result, 0, 2)}};
}

std::vector<Region> PostgresStore::regions() {
  auto lease = borrow();
  const auto result = (*lease).run(kSelectRegions, Params());
  std::vector<Region> out;
  for (int row = 0; row < result.rows(); ++row) {
    out.push_back(Region{result.text(row, 0), {result.text(row, 1), port_of(result, row, 2)}});
  }
  return out;
}

void PostgresStore::insert_cluster(const Cluster& cluster) { insert(cluster, std::nullopt); }

void PostgresStore::insert_granted_cluster(const Cluster& cluster, std::string_view grantee) {
  insert(cluster, grantee);
}

void PostgresStore::insert(const Cluster& cluster, std::optional<std::string_view> grantee) {
  auto lease = borrow();
  auto& db = *lease;
  // Of racing inserts of one id or name, the unique constraints let one
  // commit; a loser's insert waits for the winner's commit and then fails
  // with a unique violation. It runs again from the start, and its check
  // then finds the winner's row and gives the 409 that names what is taken.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    try {
      postgres::Transaction transaction(db);
      {
        Params params;
        add_id(params, cluster.id).add(cluster.name);
        const auto taken = db.run(kClusterTaken, params);
        if (taken.rows() != 0) {
          throw Error::already_exists(taken.boolean(0, 0)
                                          ? "a cluster with this id (ids of deleted clusters are never reused)"
                                          : "a cluster with this name");
        }
      }
      {
        Params params;
        add_id(params, cluster.id)
            .add(cluster.name)
            .add(to_string(cluster.category))
            .add(cluster.cloud_provider)
            .add(to_string(cluster.network))
            .add(cluster.created_at)
            .add(cluster.type.empty() ? cluster.provider : cluster.type)
            .add(cluster.country)
            .add(cluster.city)
            .add(to_string(cluster.manage_type))
            .add(cluster.cluster_group_id);
        db.run(kInsertCluster, params);
      }
      for (const auto* entries : {&cluster.labels, &cluster.annotations}) {
        for (const auto& [key, value] : *entries) {
          Params params;
          add_id(params, cluster.id).add(entries == &cluster.labels ? "label" : "annotation").add(key).add(value);
          db.run(kInsertMetadata, params);
        }
      }
      if (grantee) {
        Params principal;
        db.run(kAddPrincipal, principal.add(*grantee).add(cluster.created_at));
        Params grant;
        grant.add(*grantee);
        db.run(kInsertGrant, add_id(grant, cluster.id));
      }
      transaction.commit();
      return;
    } catch (const postgres::UniqueViolation&) {
      if (attempt == kAttempts) throw Error::already_exists("a cluster with this id or name");
    } catch (const postgres::RetryableConflict&) {
      if (attempt == kAttempts) throw;
    }
  }
}

std::optional<Cluster> PostgresStore::cluster(const ClusterId& id) {
  auto lease = borrow();
  auto& db = *lease;
  // One snapshot for the row and its metadata.
  postgres::Transaction snapshot(db, /*read_only=*/true);
  Params params;
  const auto result = db.run(kSelectCluster, add_id(params, id));
  if (result.rows() == 0) return std::nullopt;
  Cluster cluster = cluster_of(result, 0);
  read_metadata(db, cluster);
  return cluster;
}

std::vector<Cluster> PostgresStore::clusters() {
  auto lease = borrow();
  auto& db = *lease;
  postgres::Transaction snapshot(db, /*read_only=*/true);
  return clusters_of(db, db.run(kSelectClusters, Params()));
}

ClusterListing PostgresStore::granted_clusters(std::string_view principal, std::int64_t limit,
                                               std::int64_t offset) {
  auto lease = borrow();
  auto& db = *lease;
  postgres::Transaction snapshot(db, /*read_only=*/true);
  ClusterListing listing;
  {
    Params params;
    listing.total = db.run(kCountGrants, params.add(principal)).integer(0, 0);
  }
  Params params;
  listing.clusters = clusters_of(db, db.run(kGrantedClusters, params.add(principal).add(limit).add(offset)));
  return listing;
}

ChangeOutcome PostgresStore::reactivate(const ClusterChange& change) {
  auto lease = borrow();
  auto& db = *lease;
  return postgres::retrying([&] {
    postgres::Transaction transaction(db);
    const auto cluster = lock_changed(db, change);
    if (!cluster) return ChangeOutcome::kNotFound;
    revoke_current(db, *cluster, change, "activation");
    {
      Params params;
      add_id(params, change.cluster_id).add(change.now);
      db.run(kNextGeneration, params);
    }
    insert_event(db, "activation", change.cluster_id, cluster->generation, change.now, change.actor,
                 cluster->certificate_serial);
    transaction.commit();
    return ChangeOutcome::kDone;
  });
}

ChangeOutcome PostgresStore::delete_cluster(const ClusterChange& change) {
  auto lease = borrow();
  auto& db = *lease;
  return postgres::retrying([&] {
    postgres::Transaction transaction(db);
    const auto cluster = lock_changed(db, change);
    if (!cluster) return ChangeOutcome::kNotFound;
    revoke_current(db, *cluster, change, "deletion");
    for (const Query* query : {&kDeleteGrants, &kDeleteMetadata, &kDeleteCluster}) {
      Params params;
      db.run(*query, add_id(params, change.cluster_id));
    }
    {
      Params params;
      add_id(params, change.cluster_id).add(change.now);
      db.run(kTombstone, params);
    }
    insert_event(db, "deletion", change.cluster_id, cluster->generation, change.now, change.actor,
                 cluster->certificate_serial);
    transaction.commit();
    return ChangeOutcome::kDone;
  });
}

bool PostgresStore::connect_agent(const ClusterId& id, std::string_view serial, std::int64_t now,
                                  std::int64_t window) {
  auto lease = borrow();
  auto& db = *lease;
  return postgres::retrying([&] {
    postgres::Transaction transaction(db);
    Params params;
    add_id(params, id).add(serial).add(now).add(window);
    const auto found = db.run(kLockConnecting, params);
    if (found.rows() == 0) return false;
    if (found.boolean(0, 1)) return true;  // Available already: nothing to change
    const std::int64_t generation = found.integer(0, 0);
    {
      Params update;
      add_id(update, id).add(now);
      db.run(kMarkConnected, update);
    }
    insert_event(db, "connection", id, generation, now, "agent", std::string(serial));
    transaction.commit();
    return true;
  });
}

std::vector<StoredRevocation> PostgresStore::revocations(std::int64_t now, std::int64_t window) {
  auto lease = borrow();
  Params params;
  // One statement: one snapshot.
  const auto result = (*lease).run(kRevocations, params.add(now).add(window));
  std::vector<StoredRevocation> out;
  for (int row = 0; row < result.rows(); ++row) {
    out.push_back(StoredRevocation{result.text(row, 0), result.integer(row, 1)});
  }
  return out;
}

std::vector<LifecycleEvent> PostgresStore::events(const std::optional<ClusterId>& id, std::int64_t now,
                                                  std::int64_t window) {
  auto lease = borrow();
  auto& db = *lease;
  return postgres::retrying([&] {
    postgres::Transaction transaction(db);
    {
      Params params;
      db.run(kRecordFailures, params.add(now).add(window));
    }
    Params params;
    if (id) add_id(params, *id);
    const auto result = db.run(id ? kClusterEvents : kAllEvents, params);
    std::vector<LifecycleEvent> out;
    for (int row = 0; row < result.rows(); ++row) {
      out.push_back(LifecycleEvent{stored_event_kind(result.text(row, 0)), id_of(result, row, 1),
                                   result.integer(row, 2), result.text(row, 3), result.optional_text(row, 4),
                                   result.integer(row, 5)});
    }
    transaction.commit();
    return out;
  });
}

void PostgresStore::insert_token(std::string_view principal, const TokenHash& hash, std::int64_t now,
                                 std::int64_t expires_at) {
  auto lease = borrow();
  auto& db = *lease;
  postgres::retrying([&] {
    postgres::Transaction transaction(db);
    Params add;
    db.run(kAddPrincipal, add.add(principal).add(now));
    Params params;
    add_hash(params, hash).add(principal).add(now).add(expires_at);
    // A stored hash is a unique violation: a storage failure, as it should be.
    db.run(kInsertToken, params);
    transaction.commit();
  });
}

bool PostgresStore::revoke_token(const TokenHash& hash, std::int64_t now) {
  auto lease = borrow();
  Params params;
  add_hash(params, hash).add(now);
  return (*lease).run(kRevokeToken, params).affected() == 1;
}

bool PostgresStore::grant(std::string_view principal, const ClusterId& id, std::int64_t now) {
  auto lease = borrow();
  auto& db = *lease;
  return postgres::retrying([&] {
    postgres::Transaction transaction(db);
    {
      Params params;
      if (db.run(kLockExisting, add_id(params, id)).rows() == 0) return false;
    }
    Params add;
    db.run(kAddPrincipal, add.add(principal).add(now));
    Params params;
    params.add(principal);
    db.run(kInsertGrant, add_id(params, id));
    transaction.commit();
    return true;
  });
}

bool PostgresStore::revoke_grant(std::string_view principal, const ClusterId& id) {
  auto lease = borrow();
  Params params;
  params.add(principal);
  return (*lease).run(kRevokeGrant, add_id(params, id)).affected() == 1;
}

RequestState PostgresStore::request_state(const TokenHash& hash, const std::optional<ClusterId>& id) {
  auto lease = borrow();
  Params params;
  add_hash(params, hash);
  if (id) add_id(params, *id);
  const auto result = (*lease).run(id ? kRequestState : kTokenState, params);
  if (result.rows() == 0) return {};
  const std::string stored_hash = result.bytes(0, 0);
  TokenHash stored{};
  if (stored_hash.size() != stored.size()) throw Error::storage("stored value has an unexpected size");
  std::copy(stored_hash.begin(), stored_hash.end(), stored.begin());
  RequestState state;
  state.token = TokenRecord{stored, result.text(0, 1), result.integer(0, 2), result.boolean(0, 3)};
  if (id) state.access = access_of(result);
  return state;
}

SignedRequestState PostgresStore::signed_request_state(std::string_view access_key,
                                                        const std::optional<ClusterId>& id) {
  auto lease = borrow();
  Params params;
  params.add(access_key);
  if (id) add_id(params, *id);
  const auto result = (*lease).run(id ? kSignedRequestState : kAccessKeyState, params);
  if (result.rows() == 0) return {};
  SignedRequestState state;
  state.key = StoredAccessKey{result.text(0, 0), SecretString(result.bytes(0, 1)), result.integer(0, 2),
                              result.boolean(0, 3)};
  if (id) state.access = access_of(result);
  return state;
}

void PostgresStore::insert_access_key(std::string_view principal, std::string_view access_key,
                                      std::string_view sealed_secret, std::int64_t now, std::int64_t expires_at) {
  auto lease = borrow();
  auto& db = *lease;
  postgres::retrying([&] {
    postgres::Transaction transaction(db);
    Params add;
    db.run(kAddPrincipal, add.add(principal).add(now));
    Params params;
    params.add(access_key).add(principal).add_bytes(sealed_secret.data(), sealed_secret.size());
    params.add(now).add(expires_at);
    // A stored AK is a unique violation: a storage failure, as it should be.
    db.run(kInsertAccessKey, params);
    transaction.commit();
  });
}

bool PostgresStore::revoke_access_key(std::string_view access_key, std::int64_t now) {
  auto lease = borrow();
  Params params;
  params.add(access_key).add(now);
  return (*lease).run(kRevokeAccessKey, params).affected() == 1;
}

std::vector<AccessKeyInfo> PostgresStore::access_keys() {
  auto lease = borrow();
  const auto result = (*lease).run(kAccessKeys, Params());
  std::vector<AccessKeyInfo> out;
  for (int row = 0; row < result.rows(); ++row) {
    out.push_back(AccessKeyInfo{result.text(row, 0), result.text(row, 1), result.integer(row, 2),
                                result.integer(row, 3), result.optional_integer(row, 4)});
  }
  return out;
}

bool PostgresStore::record_download(const DownloadCommit& commit) {
  auto lease = borrow();
  auto& db = *lease;
  Params params;
  params.add(commit.now).add(commit.certificate_serial);
  add_id(params, commit.cluster_id).add(commit.principal);
  add_hash(params, commit.token_hash).add(commit.generation).add(commit.access_key);
  params.add(to_string(commit.network)).add(commit.region).add(commit.vpcendpoint);
  const Params none;
  return postgres::retrying([&] {
    // BEGIN, the statement that decides the winner, marks the cluster and
    // writes the audit record, and the settings' read go in one round trip;
    // the cluster's row lock is held from there to the end of the
    // transaction. The settings are read in the same transaction, after the
    // mark: a loser reads them too, so it does the same work up to here. The
    // key is made while the server runs them (its serial is recorded
    // already): its time and the round trip's overlap.
    postgres::Transaction transaction(db, {{kRecordDownload, params}, {kSelectSettings, none}}, commit.make_key);
    if (transaction.result(0).rows() != 1) return false;  // rolled back: nothing changed
    if (commit.with_settings) {
      const Result& rows = transaction.result(1);
      Settings settings;
      for (int row = 0; row < rows.rows(); ++row) settings.emplace(rows.text(row, 0), rows.text(row, 1));
      // Before COMMIT: what it throws rolls the mark and its audit record back.
      commit.with_settings(settings);
    }
    // Read once the row lock is held (waiting for it can take up to the
    // timeout), before the commit: a client gone meanwhile finds nothing
    // recorded (the transaction, its mark and its audit record roll back).
    if (commit.delivery != nullptr && commit.delivery->abandoned()) throw Error::request_abandoned();
    transaction.commit();
    return true;
  });
}

std::vector<DownloadRecord> PostgresStore::downloads() {
  auto lease = borrow();
  const auto result = (*lease).run(kDownloads, Params());
  std::vector<DownloadRecord> out;
  for (int row = 0; row < result.rows(); ++row) {
    out.push_back(DownloadRecord{id_of(result, row, 0), result.text(row, 1), result.integer(row, 2),
                                 result.text(row, 3), stored_network(result.text(row, 4)),
                                 result.optional_text(row, 5), result.optional_text(row, 6)});
  }
  return out;
}

void PostgresStore::backup(const std::string& /*destination*/) {
  throw Error::not_configured(
      "a PostgreSQL registry is backed up with the database's own tool, pg_dump (e.g. pg_dump --format=custom)");
}

}  // namespace clusteraccess
