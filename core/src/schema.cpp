#include "schema.hpp"

#include <string>

#include "cluster_catalogue.hpp"
#include "clusteraccess/error.hpp"

namespace clusteraccess {

namespace {

// The schema of version 2. A new registry is made with it and then upgraded
// step by step to kSchemaVersion, so that a new file and an upgraded one
// have the same tables, columns and constraints. Files of every version
// exist: a change is a new version, with kSchemaVersion bumped and an
// upgrade step in create_or_check_schema.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- The installation's certificate authority: exactly one row. private_key is
-- the key sealed under the master key, which is not in this file
-- (key_sealed = 1); 0 only in a registry upgraded from version 1, whose
-- clear PEM key is sealed when it is first opened with a master key.
CREATE TABLE certificate_authority (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  certificate_pem TEXT NOT NULL,
  private_key     BLOB NOT NULL,
  created_at      INTEGER NOT NULL,
  key_sealed      INTEGER NOT NULL CHECK (key_sealed IN (0, 1))
);

CREATE TABLE regions (
  name       TEXT PRIMARY KEY,
  proxy_host TEXT NOT NULL,
  proxy_port INTEGER NOT NULL CHECK (proxy_port BETWEEN 1 AND 65535)
) WITHOUT ROWID;

-- id is the 16-byte binary form of the cluster's UUID.
CREATE TABLE clusters (
  id                 BLOB PRIMARY KEY CHECK (length(id) = 16),
  name               TEXT NOT NULL UNIQUE,
  category           TEXT NOT NULL CHECK (category IN ('attachedcluster', 'self')),
  provider           TEXT NOT NULL,
  network            TEXT NOT NULL CHECK (network IN ('public', 'private')),
  created_at         INTEGER NOT NULL,
  downloaded_at      INTEGER,
  certificate_serial TEXT UNIQUE,
  CHECK ((downloaded_at IS NULL) = (certificate_serial IS NULL))
) WITHOUT ROWID;

CREATE TABLE principals (
  name       TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Only the SHA-256 of a token is stored.
CREATE TABLE tokens (
  hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
  principal  TEXT NOT NULL REFERENCES principals (name),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;

CREATE TABLE grants (
  principal  TEXT NOT NULL REFERENCES principals (name),
  cluster_id BLOB NOT NULL REFERENCES clusters (id),
  PRIMARY KEY (principal, cluster_id)
) WITHOUT ROWID;

-- The audit record of every download; at most one per cluster.
CREATE TABLE downloads (
  id                 INTEGER PRIMARY KEY,
  cluster_id         BLOB NOT NULL UNIQUE REFERENCES clusters (id),
  principal          TEXT NOT NULL,
  downloaded_at      INTEGER NOT NULL,
  certificate_serial TEXT NOT NULL UNIQUE,
  network            TEXT NOT NULL,
  region             TEXT,
  vpcendpoint        TEXT
);
)sql";

// Version 1 -> 2: the CA table gets its version 2 form; the key is copied
// as it is, marked clear. (The table is rebuilt rather than altered so that
// an upgraded file has the columns and constraints of a new one.)
constexpr const char* kUpgradeFrom1 = R"sql(
CREATE TABLE certificate_authority_v2 (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  certificate_pem TEXT NOT NULL,
  private_key     BLOB NOT NULL,
  created_at      INTEGER NOT NULL,
  key_sealed      INTEGER NOT NULL CHECK (key_sealed IN (0, 1))
);
INSERT INTO certificate_authority_v2 (id, certificate_pem, private_key, created_at, key_sealed)
  SELECT id, certificate_pem, CAST(private_key_pem AS BLOB), created_at, 0 FROM certificate_authority;
DROP TABLE certificate_authority;
ALTER TABLE certificate_authority_v2 RENAME TO certificate_authority;
)sql";

// Version 2 -> 3: the cluster API and the lifecycle (docs/contract.md).
//  - clusters gain the SDK's fields, a generation (one more per activation)
//    and the time their agent connected; `provider`, which held the type in
//    the original vocabulary (eks, ...), becomes the SDK's provider, the type
//    moving to `type` (upgrade_cluster_types, from the catalogue);
//  - labels and annotations in cluster_metadata;
//  - the ids of deleted clusters (never reused), revoked certificates and
//    the lifecycle's audit events;
//  - downloads: one per cluster and generation (was: one per cluster) and no
//    reference to clusters, so that the audit outlives a deleted cluster.
//    Rebuilt, since SQLite cannot drop a constraint.
constexpr const char* kUpgradeFrom2 = R"sql(
ALTER TABLE clusters ADD COLUMN type TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clusters ADD COLUMN generation INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1);
ALTER TABLE clusters ADD COLUMN connected_at INTEGER;
ALTER TABLE clusters ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN manage_type TEXT NOT NULL DEFAULT 'discrete'
  CHECK (manage_type IN ('discrete', 'grouped'));
ALTER TABLE clusters ADD COLUMN cluster_group_id TEXT NOT NULL DEFAULT '';
UPDATE clusters SET updated_at = created_at;

-- The revocation list and the failure events look for generations whose
-- window passed: only downloaded clusters whose agent has not connected.
CREATE INDEX clusters_awaiting_agent ON clusters (downloaded_at)
  WHERE downloaded_at IS NOT NULL AND connected_at IS NULL;

CREATE TABLE cluster_metadata (
  cluster_id BLOB NOT NULL REFERENCES clusters (id),
  kind       TEXT NOT NULL CHECK (kind IN ('label', 'annotation')),
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  PRIMARY KEY (cluster_id, kind, key)
) WITHOUT ROWID;

-- Ids of deleted clusters: never registered again.
CREATE TABLE deleted_clusters (
  id         BLOB PRIMARY KEY CHECK (length(id) = 16),
  deleted_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE revocations (
  certificate_serial TEXT PRIMARY KEY,
  cluster_id         BLOB NOT NULL,
  revoked_at         INTEGER NOT NULL,
  reason             TEXT NOT NULL CHECK (reason IN ('activation', 'deletion', 'connection window passed'))
) WITHOUT ROWID;

-- Activations, connections, failures and deletions (downloads are in
-- downloads). One failure per cluster and generation.
CREATE TABLE events (
  id                 INTEGER PRIMARY KEY,
  kind               TEXT NOT NULL CHECK (kind IN ('activation', 'connection', 'failure', 'deletion')),
  cluster_id         BLOB NOT NULL,
  generation         INTEGER NOT NULL,
  at                 INTEGER NOT NULL,
  principal          TEXT NOT NULL,
  certificate_serial TEXT
);
CREATE INDEX events_by_cluster ON events (cluster_id);
CREATE UNIQUE INDEX events_one_failure ON events (cluster_id, generation) WHERE kind = 'failure';

CREATE TABLE downloads_v3 (
  id                 INTEGER PRIMARY KEY,
  cluster_id         BLOB NOT NULL,
  generation         INTEGER NOT NULL DEFAULT 1,
  principal          TEXT NOT NULL,
  downloaded_at      INTEGER NOT NULL,
  certificate_serial TEXT NOT NULL UNIQUE,
  network            TEXT NOT NULL,
  region             TEXT,
  vpcendpoint        TEXT,
  UNIQUE (cluster_id, generation)
);
INSERT INTO downloads_v3 (id, cluster_id, generation, principal, downloaded_at, certificate_serial,
                          network, region, vpcendpoint)
  SELECT id, cluster_id, 1, principal, downloaded_at, certificate_serial, network, region, vpcendpoint
  FROM downloads;
DROP TABLE downloads;
ALTER TABLE downloads_v3 RENAME TO downloads;
)sql";

// Version 3 -> 4: access keys (docs/contract.md, AK/SK). The SK is kept
// sealed under the master key (the layer above the store seals it, with the
// row's identity as associated data); a key is never deleted, only revoked,
// so the audit of who held which AK stays.
constexpr const char* kUpgradeFrom3 = R"sql(
CREATE TABLE access_keys (
  access_key    TEXT PRIMARY KEY CHECK (length(access_key) = 20),
  principal     TEXT NOT NULL REFERENCES principals (name),
  sealed_secret BLOB NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  revoked_at    INTEGER
) WITHOUT ROWID;
)sql";

// Version 2 kept a cluster's type in the original vocabulary as its
// "provider"; the catalogue (the one place that knows) says which cloud
// provider each implies.
void upgrade_cluster_types(sqlite::Connection& connection) {
  sqlite::Statement update(connection,
                           "UPDATE clusters SET type = provider, provider = ?2 WHERE provider = ?1 AND type = ''");
  for (const std::string_view type : catalogue::kLegacyTypes) {
    update.reset();
    update.bind(1, type);
    update.bind(2, catalogue::legacy_cloud_provider(type));
    update.run();
  }
  if (connection.query_int("SELECT count(*) FROM clusters WHERE type = ''") != 0) {
    throw Error::storage("the registry holds a cluster of an unknown type");
  }
}

int user_version(sqlite::Connection& connection) {
  return static_cast<int>(connection.query_int("PRAGMA user_version"));
}

}  // namespace

void check_schema_compatible(sqlite::Connection& connection) {
  // One statement, so both values come from the same snapshot even while
  // another connection is creating the schema.
  sqlite::Statement state(connection,
                          "SELECT (SELECT user_version FROM pragma_user_version), "
                          "(SELECT count(*) FROM sqlite_schema)");
  if (!state.step()) throw Error::storage("cannot read the database schema");
  const auto version = state.column_int(0);
  if (version > kSchemaVersion) {
    throw Error::storage("the database schema (version " + std::to_string(version) +
                         ") is newer than this library supports (version " +
                         std::to_string(kSchemaVersion) + ")");
  }
  if (version == 0 && state.column_int(1) != 0) {
    throw Error::storage("the file is an SQLite database but not a clusteraccess registry");
  }
}

void create_or_check_schema(sqlite::Connection& connection) {
  // Fast path without the write lock: a registry of this version.
  if (user_version(connection) == kSchemaVersion) return;

  sqlite::Transaction transaction(connection);
  check_schema_compatible(connection);  // again, under the lock
  // Another connection may have created the schema while this one waited
  // for the lock; then there is nothing left to do.
  const int version = user_version(connection);
  if (version == kSchemaVersion) return;
  if (version < 0 || version > 3) {
    throw Error::storage("the database schema version " + std::to_string(version) + " is not supported");
  }
  if (version == 0) connection.exec(kSchemaV2);
  if (version == 1) connection.exec(kUpgradeFrom1);
  if (version <= 2) {
    connection.exec(kUpgradeFrom2);
    upgrade_cluster_types(connection);
  }
  connection.exec(kUpgradeFrom3);
  connection.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  transaction.commit();
}

}  // namespace clusteraccess
