// A registry of schema version 2 (before the cluster API and the lifecycle)
// opened by this library: upgraded to version 3, keeping its clusters, their
// downloads and their grants.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "certificate_authority.hpp"
#include "clusteraccess/clusteraccess.hpp"
#include "schema.hpp"
#include "legacy_registry.hpp"
#include "test_support.hpp"
#include "token.hpp"

namespace clusteraccess {
namespace {

using testing::RawDb;
using testing::TempDir;

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
    db.exec(testing::schema_version_2());
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
