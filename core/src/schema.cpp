#include "schema.hpp"

#include <string>

#include "clusteraccess/error.hpp"

namespace clusteraccess {

namespace {

// The schema of version kSchemaVersion. Files of this version exist: a
// change to it is a new version, with kSchemaVersion bumped and an upgrade
// step from this one in create_or_check_schema.
constexpr const char* kSchema = R"sql(
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
  if (version == 0) {
    connection.exec(kSchema);
  } else if (version == 1) {
    connection.exec(kUpgradeFrom1);
  } else {
    throw Error::storage("the database schema version " + std::to_string(version) + " is not supported");
  }
  connection.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  transaction.commit();
}

}  // namespace clusteraccess
