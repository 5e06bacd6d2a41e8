#include "sqlite_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "clusteraccess/error.hpp"
#include "private_file.hpp"
#include "schema.hpp"
#include "sqlite.hpp"

namespace clusteraccess {

namespace {

bool is_memory(const std::string& path) { return path == ":memory:"; }

// SQLite creates new files with mode 0644, and its -wal and -shm files copy
// the mode of the database file. Creating the file ourselves with 0600 first
// keeps the CA key (and everything else) readable by the owner only.
void create_if_missing(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno == EEXIST) return;
  throw Error::storage(std::string("cannot create the registry file: ") + std::strerror(errno));
}

// The registry holds the CA key and the audit trail: a symbolic link planted
// at its path, a file another user created in advance (who could read it
// whatever its mode) or a hard link to a file elsewhere is refused before a
// byte is written, as are such -wal and -shm files. The connection itself is
// opened with SQLITE_OPEN_NOFOLLOW, so a symlink planted after this check is
// refused too.
void require_ours(const std::string& path) {
  private_file::exists_and_is_ours(path, "registry file");
  private_file::exists_and_is_ours(path + "-wal", "registry write-ahead log file");
  private_file::exists_and_is_ours(path + "-shm", "registry shared-memory file");
}

// A registry file that exists with wider permissions (made by `touch`, say)
// is narrowed to 0600, with its -wal and -shm files, before the CA key can be
// written into it.
void make_private(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path + suffix;
    struct stat status {};
    if (::stat(file.c_str(), &status) != 0 || (status.st_mode & 077) == 0) continue;
    if (::chmod(file.c_str(), 0600) != 0) {
      throw Error::storage(std::string("cannot make the registry file private (mode 0600): ") +
                           std::strerror(errno));
    }
  }
}

// A damaged file (truncated, partly overwritten) is refused when it is opened,
// rather than served until a request happens to touch a damaged page. The
// check reads every page, so its cost grows with the file; it is paid once
// per open, not per request.
void verify_integrity(sqlite::Connection& connection) {
  sqlite::Statement check(connection, "PRAGMA quick_check(1)");
  if (!check.step() || check.column_text(0) != "ok") {
    throw Error::storage("the registry file is damaged");
  }
}

ClusterCategory stored_category(const std::string& text) {
  if (const auto category = try_parse_cluster_category(text)) return *category;
  throw Error::storage("stored cluster category is invalid");
}

AccessNetwork stored_network(const std::string& text) {
  if (const auto network = try_parse_access_network(text)) return *network;
  throw Error::storage("stored access network is invalid");
}

void bind_id(sqlite::Statement& statement, int index, const ClusterId& id) {
  const auto bytes = id.bytes();
  statement.bind_blob(index, bytes.data(), bytes.size());
}

ClusterId column_id(const sqlite::Statement& statement, int column) {
  std::array<std::uint8_t, 16> bytes{};
  statement.column_blob(column, bytes.data(), bytes.size());
  return ClusterId::from_bytes(bytes);
}

void bind_hash(sqlite::Statement& statement, int index, const TokenHash& hash) {
  statement.bind_blob(index, hash.data(), hash.size());
}

std::uint16_t column_port(const sqlite::Statement& statement, int column) {
  const auto port = statement.column_int(column);
  if (port < 1 || port > 65535) throw Error::storage("stored port is invalid");
  return static_cast<std::uint16_t>(port);
}

constexpr const char* kClusterColumns =
    "SELECT id, name, category, provider, network, created_at, downloaded_at, certificate_serial, "
    "type, updated_at, generation, connected_at, country, city, manage_type, cluster_group_id "
    "FROM clusters";

ManageType stored_manage_type(const std::string& text) {
  if (text == "grouped") return ManageType::kGrouped;
  if (text == "discrete") return ManageType::kDiscrete;
  throw Error::storage("stored manage type is invalid");
}

// The `provider` column holds the SDK's provider; `Cluster::provider` is the
// type in the original vocabulary (cluster.hpp).
Cluster read_cluster(const sqlite::Statement& statement) {
  Cluster cluster{column_id(statement, 0),
                  statement.column_text(1),
                  stored_category(statement.column_text(2)),
                  statement.column_text(8),
                  stored_network(statement.column_text(4)),
                  statement.column_int(5),
                  statement.column_optional_int(6),
                  statement.column_optional_text(7)};
  cluster.type = cluster.provider;
  cluster.cloud_provider = statement.column_text(3);
  cluster.updated_at = statement.column_int(9);
  cluster.generation = statement.column_int(10);
  cluster.connected_at = statement.column_optional_int(11);
  cluster.country = statement.column_text(12);
  cluster.city = statement.column_text(13);
  cluster.manage_type = stored_manage_type(statement.column_text(14));
  cluster.cluster_group_id = statement.column_text(15);
  return cluster;
}

// Fills the labels and annotations of `cluster`.
void read_metadata(sqlite::Connection& db, Cluster& cluster) {
  sqlite::Statement select(db, "SELECT kind, key, value FROM cluster_metadata WHERE cluster_id = ?1");
  bind_id(select, 1, cluster.id);
  while (select.step()) {
    auto& target = select.column_text(0) == "label" ? cluster.labels : cluster.annotations;
    target.emplace(select.column_text(1), select.column_text(2));
  }
}

void write_metadata(sqlite::Connection& db, const Cluster& cluster) {
  sqlite::Statement insert(db,
                           "INSERT INTO cluster_metadata (cluster_id, kind, key, value) VALUES (?1, ?2, ?3, ?4)");
  for (const auto* entries : {&cluster.labels, &cluster.annotations}) {
    for (const auto& [key, value] : *entries) {
      insert.reset();
      bind_id(insert, 1, cluster.id);
      insert.bind(2, entries == &cluster.labels ? "label" : "annotation");
      insert.bind(3, key);
      insert.bind(4, value);
      insert.run();
    }
  }
}

void add_principal(sqlite::Connection& db, std::string_view principal, std::int64_t now) {
  sqlite::Statement insert(db, "INSERT OR IGNORE INTO principals (name, created_at) VALUES (?1, ?2)");
  insert.bind(1, principal);
  insert.bind(2, now);
  insert.run();
}

void insert_event(sqlite::Connection& db, std::string_view kind, const ClusterId& id, std::int64_t generation,
                  std::int64_t at, std::string_view principal, const std::optional<std::string>& serial) {
  sqlite::Statement insert(db,
                           "INSERT OR IGNORE INTO events (kind, cluster_id, generation, at, principal, "
                           "certificate_serial) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  insert.bind(1, kind);
  bind_id(insert, 2, id);
  insert.bind(3, generation);
  insert.bind(4, at);
  insert.bind(5, principal);
  insert.bind(6, serial);
  insert.run();
}

// The failure of every generation whose window passed before `now` without a
// connection, recorded once (events_one_failure) at the window's end. Found
// through clusters_awaiting_agent.
void record_failures(sqlite::Connection& db, std::int64_t now, std::int64_t window) {
  sqlite::Statement insert(
      db,
      "INSERT OR IGNORE INTO events (kind, cluster_id, generation, at, principal, certificate_serial) "
      "SELECT 'failure', id, generation, downloaded_at + ?2, 'clock', certificate_serial FROM clusters "
      "WHERE downloaded_at IS NOT NULL AND connected_at IS NULL AND downloaded_at <= ?1 - ?2");
  insert.bind(1, now);
  insert.bind(2, window);
  insert.run();
}

// What an activation or a deletion does to the current certificate, inside
// its transaction: revoked now, or -- when the generation failed -- since
// its window ended, with its failure event.
void revoke_current(sqlite::Connection& db, const Cluster& cluster, const ClusterChange& change,
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
  sqlite::Statement insert(db,
                           "INSERT OR IGNORE INTO revocations (certificate_serial, cluster_id, revoked_at, "
                           "reason) VALUES (?1, ?2, ?3, ?4)");
  insert.bind(1, *cluster.certificate_serial);
  bind_id(insert, 2, cluster.id);
  insert.bind(3, revoked_at);
  insert.bind(4, why);
  insert.run();
}

// The cluster of a change, read inside its transaction: nothing when it does
// not exist or, for the API form, the principal holds no grant on it.
std::optional<Cluster> changed_cluster(sqlite::Connection& db, const ClusterChange& change) {
  if (change.principal) {
    sqlite::Statement granted(db, "SELECT 1 FROM grants WHERE principal = ?1 AND cluster_id = ?2");
    granted.bind(1, *change.principal);
    bind_id(granted, 2, change.cluster_id);
    if (!granted.step()) return std::nullopt;
  }
  sqlite::Statement select(db, std::string(kClusterColumns) + " WHERE id = ?1");
  bind_id(select, 1, change.cluster_id);
  if (!select.step()) return std::nullopt;
  return read_cluster(select);
}

LifecycleEventKind stored_event_kind(const std::string& text) {
  for (const auto kind : {LifecycleEventKind::kDownload, LifecycleEventKind::kActivation,
                          LifecycleEventKind::kConnection, LifecycleEventKind::kFailure,
                          LifecycleEventKind::kDeletion}) {
    if (text == to_string(kind)) return kind;
  }
  throw Error::storage("stored event kind is invalid");
}

}  // namespace

// One connection and the statements of the hot paths (a request, a
// download), prepared once per connection.
struct SqliteStore::Session {
  sqlite::Connection db;
  sqlite::Statement find_request_state;
  sqlite::Statement find_signed_request_state;
  sqlite::Statement find_region;
  sqlite::Statement all_settings;
  sqlite::Statement mark_downloaded;
  sqlite::Statement insert_download;

  explicit Session(sqlite::Connection connection)
      : db(std::move(connection)),
        // The token and the cluster access in one statement, so that a
        // request costs one read transaction (each one takes and releases a
        // WAL read lock: two fcntl calls). The cluster is reached only
        // through the principal's grant: without one, the same primary-key
        // probe misses whether the cluster exists, is downloaded or not, so
        // the work (and the time) is the same and tells nothing.
        find_request_state(db,
                           "SELECT t.hash, t.principal, t.expires_at, t.revoked_at IS NOT NULL, "
                           "c.category, c.network, c.downloaded_at IS NOT NULL, c.generation "
                           "FROM tokens AS t "
                           "LEFT JOIN grants AS g ON g.principal = t.principal AND g.cluster_id = ?2 "
                           "LEFT JOIN clusters AS c ON c.id = g.cluster_id "
                           "WHERE t.hash = ?1"),
        // The same for a signed request, through the access key's principal.
        find_signed_request_state(db,
                                  "SELECT k.principal, k.sealed_secret, k.expires_at, k.revoked_at IS NOT NULL, "
                                  "c.category, c.network, c.downloaded_at IS NOT NULL, c.generation "
                                  "FROM access_keys AS k "
                                  "LEFT JOIN grants AS g ON g.principal = k.principal AND g.cluster_id = ?2 "
                                  "LEFT JOIN clusters AS c ON c.id = g.cluster_id "
                                  "WHERE k.access_key = ?1"),
        find_region(db, "SELECT name, proxy_host, proxy_port FROM regions WHERE name = ?1"),
        all_settings(db, "SELECT key, value FROM settings"),
        // The conditions re-check, under the write lock, what the rules
        // checked before the key was made: a racing caller, a revoked grant
        // or a revoked token in the meantime all make this change nothing,
        // and so does an activation (a new generation): a key is committed
        // only for the generation that admitted it.
        mark_downloaded(db,
                        "UPDATE clusters SET downloaded_at = ?1, certificate_serial = ?2, updated_at = ?1 "
                        "WHERE id = ?3 AND downloaded_at IS NULL AND generation = ?6 "
                        "AND EXISTS (SELECT 1 FROM grants WHERE principal = ?4 AND cluster_id = ?3) "
                        "AND ((?7 IS NULL AND EXISTS (SELECT 1 FROM tokens WHERE hash = ?5 AND principal = ?4 "
                        "AND revoked_at IS NULL AND expires_at > ?1)) "
                        "OR (?7 IS NOT NULL AND EXISTS (SELECT 1 FROM access_keys WHERE access_key = ?7 "
                        "AND principal = ?4 AND revoked_at IS NULL AND expires_at > ?1)))"),
        insert_download(db,
                        "INSERT INTO downloads (cluster_id, principal, downloaded_at, "
                        "certificate_serial, network, region, vpcendpoint, generation) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)") {}
};

// A session borrowed from the pool for the length of one call.
class SqliteStore::Lease {
 public:
  Lease(SqliteStore& store, std::unique_ptr<Session> session) noexcept
      : store_(store), session_(std::move(session)) {}
  ~Lease() { store_.give_back(std::move(session_)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Session* operator->() const noexcept { return session_.get(); }

 private:
  SqliteStore& store_;
  std::unique_ptr<Session> session_;
};

SqliteStore::SqliteStore(std::string path, std::chrono::milliseconds busy_timeout)
    : path_(std::move(path)), busy_timeout_(busy_timeout) {
  if (!is_memory(path_)) {
    require_ours(path_);
    create_if_missing(path_);
  }
  idle_.push_back(open_session());
  if (!is_memory(path_)) verify_integrity(idle_.back()->db);
}

SqliteStore::~SqliteStore() = default;

std::unique_ptr<SqliteStore::Session> SqliteStore::open_session() {
  sqlite::Connection connection(path_, /*create=*/is_memory(path_), busy_timeout_);
  // Refuse another program's database before changing anything in it.
  check_schema_compatible(connection);
  if (!is_memory(path_)) {
    make_private(path_);
    // journal_mode returns the mode in force: a file that cannot be put in
    // WAL mode (e.g. read-only) is refused here rather than half-working.
    if (connection.enable_wal(busy_timeout_) != "wal") {
      throw Error::storage("the registry file cannot be put in WAL mode");
    }
  }
  // mmap_size: the database file is read through a memory map (its first
  // GiB), so a page that is not in SQLite's own small cache costs a memory
  // access, not a pread call, which matters once the registry outgrows that
  // cache (bench/library_bench.cpp --scales measures it). Writes still go
  // through the WAL. (Reads through a map turn an I/O error, or a truncation
  // of the file behind SQLite's back, into SIGBUS; the registry file is the
  // library's alone.)
  connection.exec(
      "PRAGMA synchronous = FULL;"
      "PRAGMA foreign_keys = ON;"
      "PRAGMA trusted_schema = OFF;"
      "PRAGMA mmap_size = 1073741824;");
  // Statements are prepared against the schema, so it must exist first (a
  // single PRAGMA read when it does).
  create_or_check_schema(connection);
  return std::make_unique<Session>(std::move(connection));
}

SqliteStore::Lease SqliteStore::borrow() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // Every connection to ":memory:" would be a database of its own, so an
    // in-memory store has its one session and callers take turns.
    if (is_memory(path_)) returned_.wait(lock, [this] { return !idle_.empty(); });
    if (!idle_.empty()) {
      auto session = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(session));
    }
  }
  return Lease(*this, open_session());
}

void SqliteStore::give_back(std::unique_ptr<Session> session) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(session));
  }
  returned_.notify_one();
}

StoredCa SqliteStore::certificate_authority(const std::function<StoredCa()>& create) {
  auto session = borrow();
  auto& db = session->db;
  const auto load = [&db]() -> std::optional<StoredCa> {
    sqlite::Statement select(db, "SELECT certificate_pem, private_key, key_sealed FROM certificate_authority");
    if (!select.step()) return std::nullopt;
    return StoredCa{select.column_text(0), SecretString(select.column_bytes(1)), select.column_int(2) != 0};
  };
  if (auto stored = load()) return std::move(*stored);

  sqlite::Transaction transaction(db);
  if (auto stored = load()) return std::move(*stored);  // another process won
  StoredCa stored = create();
  sqlite::Statement insert(db,
                           "INSERT INTO certificate_authority (id, certificate_pem, private_key, "
                           "created_at, key_sealed) VALUES (1, ?1, ?2, unixepoch(), ?3)");
  insert.bind(1, stored.certificate_pem);
  insert.bind_blob(2, stored.private_key.view().data(), stored.private_key.view().size());
  insert.bind(3, std::int64_t{stored.key_sealed ? 1 : 0});
  insert.run();
  transaction.commit();
  return stored;
}

bool SqliteStore::replace_clear_ca_key(std::string_view sealed) {
  auto session = borrow();
  auto& db = session->db;
  // secure_delete zeroes the space the old key leaves, in the page images
  // this transaction writes; the connection goes back to the pool with the
  // default again, whatever happens.
  db.exec("PRAGMA secure_delete = ON");
  const sqlite::PragmaReset restore(db, "PRAGMA secure_delete = OFF");
  {
    sqlite::Transaction transaction(db);
    sqlite::Statement update(db,
                             "UPDATE certificate_authority SET private_key = ?1, key_sealed = 1 "
                             "WHERE key_sealed = 0");
    update.bind_blob(1, sealed.data(), sealed.size());
    update.run();
    if (db.changes() != 1) return false;
    transaction.commit();
  }
  // Copies of the old key may remain elsewhere: in pages freed earlier (the
  // schema upgrade that copied the table), or in the database file itself,
  // until a checkpoint writes the new page over it. VACUUM rewrites every
  // page and drops the free ones; the TRUNCATE checkpoint then writes them
  // all into the file and empties the WAL.
  db.exec("VACUUM");
  if (!is_memory(path_)) db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return true;
}

namespace {

Settings read_settings(sqlite::Statement& all_settings) {
  sqlite::StatementScope select(all_settings);
  Settings out;
  while (select->step()) out.emplace(select->column_text(0), select->column_text(1));
  return out;
}

}  // namespace

Settings SqliteStore::settings() {
  auto session = borrow();
  return read_settings(session->all_settings);
}

void SqliteStore::set_settings(const SettingValues& values) {
  auto session = borrow();
  sqlite::Transaction transaction(session->db);
  sqlite::Statement upsert(session->db,
                           "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  for (const auto& [key, value] : values) {
    upsert.bind(1, key);
    upsert.bind(2, value);
    upsert.run();
    upsert.reset();
  }
  transaction.commit();
}

void SqliteStore::put_region(const Region& region) {
  auto session = borrow();
  sqlite::Statement upsert(session->db,
                           "INSERT INTO regions (name, proxy_host, proxy_port) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT (name) DO UPDATE SET proxy_host = excluded.proxy_host, "
                           "proxy_port = excluded.proxy_port");
  upsert.bind(1, region.name);
  upsert.bind(2, region.proxy.host);
  upsert.bind(3, std::int64_t{region.proxy.port});
  upsert.run();
}

std::optional<Region> SqliteStore::region(std::string_view name) {
  auto session = borrow();
  sqlite::StatementScope select(session->find_region);
  select->bind(1, name);
  if (!select->step()) return std::nullopt;
  return Region{select->column_text(0), {select->column_text(1), column_port(*select, 2)}};
}

std::vector<Region> SqliteStore::regions() {
  auto session = borrow();
  sqlite::Statement select(session->db, "SELECT name, proxy_host, proxy_port FROM regions ORDER BY name");
  std::vector<Region> out;
  while (select.step()) {
    out.push_back(Region{select.column_text(0), {select.column_text(1), column_port(select, 2)}});
  }
  return out;
}

void SqliteStore::insert_cluster(const Cluster& cluster) { insert(cluster, std::nullopt); }

void SqliteStore::insert_granted_cluster(const Cluster& cluster, std::string_view grantee) {
  insert(cluster, grantee);
}

void SqliteStore::insert(const Cluster& cluster, std::optional<std::string_view> grantee) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  {
    sqlite::Statement taken(db,
                            "SELECT id = ?1 FROM clusters WHERE id = ?1 OR name = ?2 "
                            "UNION ALL SELECT 1 FROM deleted_clusters WHERE id = ?1");
    bind_id(taken, 1, cluster.id);
    taken.bind(2, cluster.name);
    if (taken.step()) {
      throw Error::already_exists(taken.column_int(0) != 0 ? "a cluster with this id (ids of deleted clusters are never reused)"
                                                           : "a cluster with this name");
    }
  }
  sqlite::Statement insert(db,
                           "INSERT INTO clusters (id, name, category, provider, network, created_at, type, "
                           "updated_at, country, city, manage_type, cluster_group_id) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?8, ?9, ?10, ?11)");
  bind_id(insert, 1, cluster.id);
  insert.bind(2, cluster.name);
  insert.bind(3, to_string(cluster.category));
  insert.bind(4, cluster.cloud_provider);
  insert.bind(5, to_string(cluster.network));
  insert.bind(6, cluster.created_at);
  insert.bind(7, cluster.type.empty() ? cluster.provider : cluster.type);
  insert.bind(8, cluster.country);
  insert.bind(9, cluster.city);
  insert.bind(10, to_string(cluster.manage_type));
  insert.bind(11, cluster.cluster_group_id);
  insert.run();
  write_metadata(db, cluster);
  if (grantee) {
    add_principal(db, *grantee, cluster.created_at);
    sqlite::Statement grant(db, "INSERT INTO grants (principal, cluster_id) VALUES (?1, ?2)");
    grant.bind(1, *grantee);
    bind_id(grant, 2, cluster.id);
    grant.run();
  }
  transaction.commit();
}

std::optional<Cluster> SqliteStore::cluster(const ClusterId& id) {
  auto session = borrow();
  sqlite::Statement select(session->db, std::string(kClusterColumns) + " WHERE id = ?1");
  bind_id(select, 1, id);
  if (!select.step()) return std::nullopt;
  // One read transaction for the row and its metadata.
  Cluster cluster = read_cluster(select);
  read_metadata(session->db, cluster);
  return cluster;
}

std::vector<Cluster> SqliteStore::clusters() {
  auto session = borrow();
  const sqlite::ReadTransaction snapshot(session->db);
  sqlite::Statement select(session->db, std::string(kClusterColumns) + " ORDER BY created_at, name");
  std::vector<Cluster> out;
  while (select.step()) out.push_back(read_cluster(select));
  for (auto& cluster : out) read_metadata(session->db, cluster);
  return out;
}

ClusterListing SqliteStore::granted_clusters(std::string_view principal, std::int64_t limit,
                                             std::int64_t offset) {
  auto session = borrow();
  auto& db = session->db;
  const sqlite::ReadTransaction snapshot(db);
  ClusterListing listing;
  {
    // grants' primary key (principal, cluster_id) is the index: a range scan.
    sqlite::Statement count(db, "SELECT count(*) FROM grants WHERE principal = ?1");
    count.bind(1, principal);
    if (count.step()) listing.total = count.column_int(0);
  }
  sqlite::Statement select(
      db, "SELECT c.id, c.name, c.category, c.provider, c.network, c.created_at, c.downloaded_at, "
          "c.certificate_serial, c.type, c.updated_at, c.generation, c.connected_at, c.country, c.city, "
          "c.manage_type, c.cluster_group_id "
          "FROM grants AS g JOIN clusters AS c ON c.id = g.cluster_id "
          "WHERE g.principal = ?1 ORDER BY g.cluster_id LIMIT ?2 OFFSET ?3");
  select.bind(1, principal);
  select.bind(2, limit);
  select.bind(3, offset);
  while (select.step()) listing.clusters.push_back(read_cluster(select));
  for (auto& cluster : listing.clusters) read_metadata(db, cluster);
  return listing;
}

ChangeOutcome SqliteStore::reactivate(const ClusterChange& change) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  const auto cluster = changed_cluster(db, change);
  if (!cluster) return ChangeOutcome::kNotFound;
  revoke_current(db, *cluster, change, "activation");
  {
    sqlite::Statement update(db,
                             "UPDATE clusters SET downloaded_at = NULL, certificate_serial = NULL, "
                             "connected_at = NULL, generation = generation + 1, updated_at = ?2 WHERE id = ?1");
    bind_id(update, 1, change.cluster_id);
    update.bind(2, change.now);
    update.run();
  }
  insert_event(db, "activation", change.cluster_id, cluster->generation, change.now, change.actor,
               cluster->certificate_serial);
  transaction.commit();
  return ChangeOutcome::kDone;
}

ChangeOutcome SqliteStore::delete_cluster(const ClusterChange& change) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  const auto cluster = changed_cluster(db, change);
  if (!cluster) return ChangeOutcome::kNotFound;
  revoke_current(db, *cluster, change, "deletion");
  for (const char* sql : {"DELETE FROM grants WHERE cluster_id = ?1",
                          "DELETE FROM cluster_metadata WHERE cluster_id = ?1",
                          "DELETE FROM clusters WHERE id = ?1"}) {
    sqlite::Statement remove(db, sql);
    bind_id(remove, 1, change.cluster_id);
    remove.run();
  }
  {
    sqlite::Statement tombstone(db, "INSERT INTO deleted_clusters (id, deleted_at) VALUES (?1, ?2)");
    bind_id(tombstone, 1, change.cluster_id);
    tombstone.bind(2, change.now);
    tombstone.run();
  }
  insert_event(db, "deletion", change.cluster_id, cluster->generation, change.now, change.actor,
               cluster->certificate_serial);
  transaction.commit();
  return ChangeOutcome::kDone;
}

bool SqliteStore::connect_agent(const ClusterId& id, std::string_view serial, std::int64_t now,
                                std::int64_t window) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  std::int64_t generation = 0;
  {
    // The window is the one of phase_of (cluster_phase.cpp): open while
    // now < downloaded_at + window.
    sqlite::Statement select(
        db, "SELECT generation, connected_at IS NOT NULL FROM clusters "
            "WHERE id = ?1 AND category = 'attachedcluster' AND certificate_serial = ?2 "
            "AND (connected_at IS NOT NULL OR downloaded_at > ?3 - ?4) "
            "AND NOT EXISTS (SELECT 1 FROM revocations WHERE certificate_serial = ?2)");
    bind_id(select, 1, id);
    select.bind(2, serial);
    select.bind(3, now);
    select.bind(4, window);
    if (!select.step()) return false;
    if (select.column_int(1) != 0) return true;  // Available already: nothing to change
    generation = select.column_int(0);
  }
  {
    sqlite::Statement update(db, "UPDATE clusters SET connected_at = ?2, updated_at = ?2 WHERE id = ?1");
    bind_id(update, 1, id);
    update.bind(2, now);
    update.run();
  }
  insert_event(db, "connection", id, generation, now, "agent", std::string(serial));
  transaction.commit();
  return true;
}

std::vector<StoredRevocation> SqliteStore::revocations(std::int64_t now, std::int64_t window) {
  auto session = borrow();
  sqlite::Statement select(
      session->db,
      "SELECT certificate_serial, revoked_at FROM revocations "
      "UNION ALL "
      "SELECT certificate_serial, downloaded_at + ?2 FROM clusters "
      "WHERE downloaded_at IS NOT NULL AND connected_at IS NULL AND downloaded_at <= ?1 - ?2");
  select.bind(1, now);
  select.bind(2, window);
  std::vector<StoredRevocation> out;
  while (select.step()) out.push_back(StoredRevocation{select.column_text(0), select.column_int(1)});
  return out;
}

std::vector<LifecycleEvent> SqliteStore::events(const std::optional<ClusterId>& id, std::int64_t now,
                                                std::int64_t window) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  record_failures(db, now, window);
  // Events of one second are put in the order they happen within a
  // generation (download, then connection or failure, then activation or
  // deletion), older generations first.
  const std::string sql =
      "SELECT kind, cluster_id, at, principal, certificate_serial, generation FROM ("
      "SELECT 'download' AS kind, cluster_id, downloaded_at AS at, principal, certificate_serial, "
      "generation, 0 AS rank, id FROM downloads " +
      std::string(id ? "WHERE cluster_id = ?1 " : "") +
      "UNION ALL SELECT kind, cluster_id, at, principal, certificate_serial, generation, "
      "CASE kind WHEN 'connection' THEN 1 WHEN 'failure' THEN 1 ELSE 2 END AS rank, id FROM events " +
      std::string(id ? "WHERE cluster_id = ?1 " : "") + ") ORDER BY at, generation, rank, id";
  std::vector<LifecycleEvent> out;
  {
    sqlite::Statement select(db, sql);
    if (id) bind_id(select, 1, *id);
    while (select.step()) {
      out.push_back(LifecycleEvent{stored_event_kind(select.column_text(0)), column_id(select, 1),
                                   select.column_int(2), select.column_text(3),
                                   select.column_optional_text(4), select.column_int(5)});
    }
  }
  transaction.commit();
  return out;
}

void SqliteStore::insert_token(std::string_view principal, const TokenHash& hash, std::int64_t now,
                               std::int64_t expires_at) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  add_principal(db, principal, now);
  sqlite::Statement insert(db,
                           "INSERT INTO tokens (hash, principal, created_at, expires_at) "
                           "VALUES (?1, ?2, ?3, ?4)");
  bind_hash(insert, 1, hash);
  insert.bind(2, principal);
  insert.bind(3, now);
  insert.bind(4, expires_at);
  insert.run();
  transaction.commit();
}

bool SqliteStore::revoke_token(const TokenHash& hash, std::int64_t now) {
  auto session = borrow();
  sqlite::Statement update(session->db,
                           "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE hash = ?1");
  bind_hash(update, 1, hash);
  update.bind(2, now);
  update.run();
  return session->db.changes() == 1;
}

bool SqliteStore::grant(std::string_view principal, const ClusterId& id, std::int64_t now) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  {
    sqlite::Statement exists(db, "SELECT 1 FROM clusters WHERE id = ?1");
    bind_id(exists, 1, id);
    if (!exists.step()) return false;
  }
  sqlite::Statement add_principal(db, "INSERT OR IGNORE INTO principals (name, created_at) VALUES (?1, ?2)");
  add_principal.bind(1, principal);
  add_principal.bind(2, now);
  add_principal.run();
  sqlite::Statement insert(db, "INSERT OR IGNORE INTO grants (principal, cluster_id) VALUES (?1, ?2)");
  insert.bind(1, principal);
  bind_id(insert, 2, id);
  insert.run();
  transaction.commit();
  return true;
}

bool SqliteStore::revoke_grant(std::string_view principal, const ClusterId& id) {
  auto session = borrow();
  sqlite::Statement remove(session->db, "DELETE FROM grants WHERE principal = ?1 AND cluster_id = ?2");
  remove.bind(1, principal);
  bind_id(remove, 2, id);
  remove.run();
  return session->db.changes() == 1;
}

namespace {

// The cluster access of a request state's row (columns 4 to 7): nothing
// when the principal holds no grant on the cluster.
std::optional<ClusterAccess> access_of(const sqlite::Statement& row) {
  if (row.is_null(4)) return std::nullopt;
  return ClusterAccess{stored_category(row.column_text(4)), stored_network(row.column_text(5)),
                       row.column_int(6) != 0, row.column_int(7)};
}

}  // namespace

RequestState SqliteStore::request_state(const TokenHash& hash, const std::optional<ClusterId>& id) {
  const auto id_bytes = id ? id->bytes() : std::array<std::uint8_t, 16>{};
  auto session = borrow();
  // Both outlive the statement's use (the scope resets it): bound in place.
  sqlite::StatementScope select(session->find_request_state);
  select->bind_blob_in_place(1, hash.data(), hash.size());
  if (id) select->bind_blob_in_place(2, id_bytes.data(), id_bytes.size());  // else NULL: no cluster
  if (!select->step()) return {};
  RequestState state;
  TokenHash stored{};
  select->column_blob(0, stored.data(), stored.size());
  state.token =
      TokenRecord{stored, select->column_text(1), select->column_int(2), select->column_int(3) != 0};
  state.access = access_of(*select);
  return state;
}

SignedRequestState SqliteStore::signed_request_state(std::string_view access_key,
                                                      const std::optional<ClusterId>& id) {
  const auto id_bytes = id ? id->bytes() : std::array<std::uint8_t, 16>{};
  auto session = borrow();
  sqlite::StatementScope select(session->find_signed_request_state);
  // Bound as text: the column is TEXT, and a BLOB never equals a TEXT.
  // Both outlive the statement's use (the scope resets it): bound in place.
  select->bind_in_place(1, access_key);
  if (id) select->bind_blob_in_place(2, id_bytes.data(), id_bytes.size());
  if (!select->step()) return {};
  SignedRequestState state;
  state.key = StoredAccessKey{select->column_text(0), SecretString(select->column_bytes(1)),
                              select->column_int(2), select->column_int(3) != 0};
  state.access = access_of(*select);
  return state;
}

void SqliteStore::insert_access_key(std::string_view principal, std::string_view access_key,
                                    std::string_view sealed_secret, std::int64_t now, std::int64_t expires_at) {
  auto session = borrow();
  auto& db = session->db;
  sqlite::Transaction transaction(db);
  add_principal(db, principal, now);
  sqlite::Statement insert(db,
                           "INSERT INTO access_keys (access_key, principal, sealed_secret, created_at, "
                           "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.bind(1, access_key);
  insert.bind(2, principal);
  insert.bind_blob(3, sealed_secret.data(), sealed_secret.size());
  insert.bind(4, now);
  insert.bind(5, expires_at);
  insert.run();
  transaction.commit();
}

bool SqliteStore::revoke_access_key(std::string_view access_key, std::int64_t now) {
  auto session = borrow();
  sqlite::Statement update(session->db,
                           "UPDATE access_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE access_key = ?1");
  update.bind(1, access_key);
  update.bind(2, now);
  update.run();
  return session->db.changes() == 1;
}

std::vector<AccessKeyInfo> SqliteStore::access_keys() {
  auto session = borrow();
  sqlite::Statement select(session->db,
                           "SELECT access_key, principal, created_at, expires_at, revoked_at FROM access_keys "
                           "ORDER BY created_at, access_key");
  std::vector<AccessKeyInfo> out;
  while (select.step()) {
    out.push_back(AccessKeyInfo{select.column_text(0), select.column_text(1), select.column_int(2),
                                select.column_int(3), select.column_optional_int(4)});
  }
  return out;
}

bool SqliteStore::record_download(const DownloadCommit& commit) {
  // Before the write lock is waited for: key generation never holds it.
  if (commit.make_key) commit.make_key();
  const TimedTurn::Hold writer(download_writer_, busy_timeout_);
  if (!writer.held()) {
    throw Error::storage("the registry stayed locked past the busy timeout");
  }
  auto session = borrow();
  sqlite::Transaction transaction(session->db);
  {
    sqlite::StatementScope update(session->mark_downloaded);
    update->bind(1, commit.now);
    update->bind(2, commit.certificate_serial);
    bind_id(*update, 3, commit.cluster_id);
    update->bind(4, commit.principal);
    bind_hash(*update, 5, commit.token_hash);
    update->bind(6, commit.generation);
    update->bind(7, commit.access_key);
    update->run();
  }
  if (session->db.changes() != 1) return false;  // the transaction rolls back
  {
    sqlite::StatementScope insert(session->insert_download);
    bind_id(*insert, 1, commit.cluster_id);
    insert->bind(2, commit.principal);
    insert->bind(3, commit.now);
    insert->bind(4, commit.certificate_serial);
    insert->bind(5, to_string(commit.network));
    insert->bind(6, commit.region);
    insert->bind(7, commit.vpcendpoint);
    insert->bind(8, commit.generation);
    insert->run();
  }
  // Read in the write transaction, so consistent with what is committed;
  // what the caller makes of them is made before the commit, and a failure
  // there rolls everything back.
  if (commit.with_settings) commit.with_settings(read_settings(session->all_settings));
  // Read last, the write lock held (waiting for it can take up to the busy
  // timeout): a client gone meanwhile finds nothing recorded.
  if (commit.delivery != nullptr && commit.delivery->abandoned()) throw Error::request_abandoned();
  transaction.commit();
  return true;
}

std::vector<DownloadRecord> SqliteStore::downloads() {
  auto session = borrow();
  sqlite::Statement select(session->db,
                           "SELECT cluster_id, principal, downloaded_at, certificate_serial, network, "
                           "region, vpcendpoint FROM downloads ORDER BY id");
  std::vector<DownloadRecord> out;
  while (select.step()) {
    out.push_back(DownloadRecord{column_id(select, 0), select.column_text(1), select.column_int(2),
                                 select.column_text(3), stored_network(select.column_text(4)),
                                 select.column_optional_text(5), select.column_optional_text(6)});
  }
  return out;
}

void SqliteStore::backup(const std::string& destination) {
  // The copy holds the sealed CA key and every grant: it is created private
  // (0600, exclusive, no symlink followed) before SQLite writes a byte to it.
  private_file::create(destination, {}, "backup file");
  try {
    sqlite::Connection copy(destination, /*create=*/false, busy_timeout_);
    const Lease lease = borrow();
    sqlite::backup(lease->db, copy);
  } catch (...) {
    ::unlink(destination.c_str());
    throw;
  }
}

}  // namespace clusteraccess
