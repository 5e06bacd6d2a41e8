// A registry of schema version 2 (before the cluster API and the lifecycle)
// opened by this library: upgraded to version 3, keeping its clusters, their
// downloads and their grants.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "certificate_authority.hpp"
#include "clusteraccess/clusteraccess.hpp"
#include "schema.hpp"
#include "test_support.hpp"
#include "token.hpp"

namespace clusteraccess {
namespace {

using testing::TempDir;

// The schema of version 2, as registries written before the cluster API have
// it (a copy: the library keeps it only as the first step of a new file).
constexpr const char* kSchemaVersion2 = R"sql(
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
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
PRAGMA user_version = 2;
)sql";

class RawDb {
 public:
  explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK); }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  void exec(const std::string& sql) {
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
  }
  // Runs `sql` with ?1.. bound to `texts` (blobs when they start with "x:").
  void run(const char* sql, std::initializer_list<std::string> values) {
    sqlite3_stmt* statement = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    int index = 1;
    for (const auto& value : values) {
      if (value.rfind("x:", 0) == 0) {
        sqlite3_bind_blob(statement, index++, value.data() + 2, static_cast<int>(value.size() - 2), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_text(statement, index++, value.c_str(), -1, SQLITE_TRANSIENT);
      }
    }
    EXPECT_EQ(sqlite3_step(statement), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(statement);
  }
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

std::string blob(const ClusterId& id) {
  const auto bytes = id.bytes();
  return "x:" + std::string(bytes.begin(), bytes.end());
}

TEST(SchemaUpgrade, AVersion2RegistryKeepsItsClustersDownloadsAndGrants) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const CaMaterial ca = CertificateAuthority::create(1'700'000'000, std::chrono::hours(24 * 3650));
  const ClusterId downloaded = ClusterId::generate();
  const ClusterId fresh = ClusterId::generate();
  const ClusterId cce = ClusterId::generate();
  const std::string token = "cat_version-two-token";
  const TokenHash hash = hash_token(token);
  {
    RawDb db(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(kSchemaVersion2);
    // A CA kept in the clear, as a registry upgraded from version 1 had it.
    db.run("INSERT INTO certificate_authority VALUES (1, ?1, ?2, 1700000000, 0)",
           {ca.certificate_pem, "x:" + std::string(ca.private_key_pem.view())});
    db.run("INSERT INTO clusters VALUES (?1, 'old-eks', 'attachedcluster', 'eks', 'public', 100, 200, 'abcd')",
           {blob(downloaded)});
    db.run("INSERT INTO clusters VALUES (?1, 'old-private', 'attachedcluster', 'privatek8s', 'public', 101, NULL, NULL)",
           {blob(fresh)});
    db.run("INSERT INTO clusters VALUES (?1, 'old-cce', 'self', 'turbo', 'public', 102, NULL, NULL)", {blob(cce)});
    db.exec("INSERT INTO principals VALUES ('alice', 1)");
    db.run("INSERT INTO tokens VALUES (?1, 'alice', 1, 4000000000, NULL)",
           {"x:" + std::string(hash.begin(), hash.end())});
    db.run("INSERT INTO grants VALUES ('alice', ?1)", {blob(downloaded)});
    db.run("INSERT INTO grants VALUES ('alice', ?1)", {blob(fresh)});
    db.run("INSERT INTO downloads (cluster_id, principal, downloaded_at, certificate_serial, network) "
           "VALUES (?1, 'alice', 200, 'abcd', 'public')",
           {blob(downloaded)});
  }

  Registry registry(path);
  registry.set_public_endpoint("proxy.example.com", 443);
  {
    RawDb db(path);
    EXPECT_EQ(db.integer("PRAGMA user_version"), kSchemaVersion);
    EXPECT_EQ(kSchemaVersion, 4);
  }
  const Cluster eks = registry.cluster(downloaded);
  EXPECT_EQ(eks.name, "old-eks");
  EXPECT_EQ(eks.provider, "eks") << "the original vocabulary still names it";
  EXPECT_EQ(eks.type, "eks");
  EXPECT_EQ(eks.cloud_provider, "aws");
  EXPECT_EQ(eks.certificate_serial, "abcd");
  EXPECT_EQ(eks.downloaded_at, 200);
  EXPECT_EQ(eks.generation, 1);
  EXPECT_EQ(eks.updated_at, 100);
  EXPECT_EQ(registry.cluster(fresh).cloud_provider, "");
  EXPECT_EQ(registry.cluster(cce).cloud_provider, "huaweicloud");
  EXPECT_EQ(registry.cluster(cce).type, "turbo");
  ASSERT_EQ(registry.downloads().size(), 1u);
  EXPECT_EQ(registry.downloads()[0].certificate_serial, "abcd");

  // The grants and the download state hold: Downloaded for one, the first
  // (and only) key for the other.
  const Credentials alice{token};
  EXPECT_EQ(registry.list_clusters(alice).total, 2);
  EXPECT_EQ(registry.access_info(AccessRequest{downloaded.str(), token, std::nullopt, std::nullopt}).documents,
            std::vector<std::string>{kDownloaded});
  EXPECT_TRUE(registry.access_info(AccessRequest{fresh.str(), token, std::nullopt, std::nullopt}).is_first_download());
  // And the upgraded registry lives through a lifecycle.
  registry.reactivate(downloaded);
  EXPECT_TRUE(registry.access_info(AccessRequest{downloaded.str(), token, std::nullopt, std::nullopt}).is_first_download());
  EXPECT_EQ(registry.downloads().size(), 3u);
}

}  // namespace
}  // namespace clusteraccess
