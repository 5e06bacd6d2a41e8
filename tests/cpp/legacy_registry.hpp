// Registries as older versions of the library wrote them, made with the raw
// SQLite API, for the tests of opening and upgrading them.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace clusteraccess::testing {

// The tables every schema before version 3 had, after the certificate
// authority's (a copy: the library keeps only the upgrades from them).
inline constexpr const char* kLegacyTables = R"sql(
CREATE TABLE regions (
  name       TEXT PRIMARY KEY,
  proxy_host TEXT NOT NULL,
  proxy_port INTEGER NOT NULL CHECK (proxy_port BETWEEN 1 AND 65535)
) WITHOUT ROWID;
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
CREATE TABLE principals (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
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

// Version 1: the CA key in the clear.
inline std::string schema_version_1() {
  return std::string(R"sql(
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE certificate_authority (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  certificate_pem TEXT NOT NULL,
  private_key_pem TEXT NOT NULL,
  created_at      INTEGER NOT NULL
);
)sql") + kLegacyTables + "PRAGMA user_version = 1;\n";
}

// Version 2: the CA key sealed (or still clear, marked so), before the
// cluster API and the lifecycle.
inline std::string schema_version_2() {
  return std::string(R"sql(
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE certificate_authority (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  certificate_pem TEXT NOT NULL,
  private_key     BLOB NOT NULL,
  created_at      INTEGER NOT NULL,
  key_sealed      INTEGER NOT NULL CHECK (key_sealed IN (0, 1))
);
)sql") + kLegacyTables + "PRAGMA user_version = 2;\n";
}

/// A raw SQLite connection, outside the library.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << "cannot open " << path;
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
  }
  /// Runs `sql` with ?1.. bound to `values`: blobs when they start with "x:",
  /// text otherwise.
  void run(const char* sql, std::initializer_list<std::string> values) {
    sqlite3_stmt* statement = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    int index = 1;
    for (const auto& value : values) {
      if (value.rfind("x:", 0) == 0) {
        sqlite3_bind_blob(statement, index++, value.data() + 2, static_cast<int>(value.size() - 2), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_text(statement, index++, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
      }
    }
    EXPECT_EQ(sqlite3_step(statement), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(statement);
  }
  /// The first column of the first row of `sql`, as bytes ("" for none).
  std::string text(const char* sql) {
    sqlite3_stmt* statement = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW) {
      const void* bytes = sqlite3_column_blob(statement, 0);
      out.assign(static_cast<const char*>(bytes), static_cast<std::size_t>(sqlite3_column_bytes(statement, 0)));
    }
    sqlite3_finalize(statement);
    return out;
  }
  /// The first column of the first row of `sql`, as an integer (-1 for none).
  std::int64_t integer(const char* sql) {
    sqlite3_stmt* statement = nullptr;
    std::int64_t out = -1;
    if (sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW) {
      out = sqlite3_column_int64(statement, 0);
    }
    sqlite3_finalize(statement);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace clusteraccess::testing
