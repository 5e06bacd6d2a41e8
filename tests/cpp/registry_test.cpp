#include "clusteraccess/registry.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "clusteraccess/error.hpp"
#include "schema.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
using testing::ManualClock;
using testing::TempDir;

ClusterSpec attached(std::string name, AccessNetwork network = AccessNetwork::kPublic,
                     std::string provider = "eks") {
  ClusterSpec spec;
  spec.name = std::move(name);
  spec.category = ClusterCategory::kAttached;
  spec.provider = std::move(provider);
  spec.network = network;
  return spec;
}

ClusterSpec cce(std::string name, std::string provider = "cce") {
  ClusterSpec spec;
  spec.name = std::move(name);
  spec.category = ClusterCategory::kCce;
  spec.provider = std::move(provider);
  return spec;
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Runs SQL on a file with the raw SQLite API, outside the library.
void raw_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

std::int64_t raw_query_int(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW) {
    value = sqlite3_column_int64(statement, 0);
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

void expect_storage_error(const std::string& path) {
  const Error error = error_of([&] { Registry registry(path); });
  EXPECT_EQ(error.http_status(), 500) << error.what();
  EXPECT_EQ(error.code(), "UCS.01000007") << error.what();
  // The message is safe to show a caller: no file path.
  EXPECT_EQ(error.message().find(path), std::string::npos) << error.message();
}

// --- opening -----------------------------------------------------------------

TEST(Registry, OpensInMemoryWithNothingConfigured) {
  Registry registry(":memory:");
  EXPECT_EQ(registry.path(), ":memory:");
  EXPECT_TRUE(registry.clusters().empty());
  EXPECT_TRUE(registry.regions().empty());
  EXPECT_TRUE(registry.downloads().empty());
  EXPECT_FALSE(registry.public_endpoint().has_value());
  EXPECT_EQ(registry.agent_image(), kDefaultAgentImage);
  EXPECT_EQ(registry.ca_certificate_pem().rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
}

TEST(Registry, CreatesTheFileWithMode0600EvenWithPermissiveUmask) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const mode_t old_umask = ::umask(0);
  {
    Registry registry(path);
    registry.set_public_endpoint("proxy.example.com", 30123);  // write, so the -wal exists
    EXPECT_EQ(file_mode(path), 0600);
    for (const char* suffix : {"-wal", "-shm"}) {
      const mode_t mode = file_mode(path + suffix);
      if (mode != 0) {
        EXPECT_EQ(mode, 0600) << suffix;
      }
    }
  }
  ::umask(old_umask);
  EXPECT_EQ(file_mode(path), 0600);
}

TEST(Registry, UsesWalAndTheCurrentSchemaVersion) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { Registry registry(path); }
  EXPECT_EQ(raw_query_int(path, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(testing::journal_mode(path), "wal");
}

TEST(Registry, CreatesTheCertificateAuthorityOnceAndReloadsItIdentically) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  std::string first;
  {
    Registry registry(path);
    first = registry.ca_certificate_pem();
    ASSERT_FALSE(first.empty());
    // A second Registry on the same open file sees the same CA.
    Registry second(path);
    EXPECT_EQ(second.ca_certificate_pem(), first);
  }
  Registry reopened(path);
  EXPECT_EQ(reopened.ca_certificate_pem(), first);
  EXPECT_EQ(raw_query_int(path, "SELECT count(*) FROM certificate_authority"), 1);
}

TEST(Registry, EachNewRegistryHasItsOwnCertificateAuthority) {
  TempDir dir;
  Registry a(dir.file("a.db"));
  Registry b(dir.file("b.db"));
  EXPECT_NE(a.ca_certificate_pem(), b.ca_certificate_pem());
  EXPECT_NE(Registry(":memory:").ca_certificate_pem(), Registry(":memory:").ca_certificate_pem());
}

TEST(Registry, KeepsItsStateAcrossReopen) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  ClusterId id = ClusterId::generate();
  std::string token;
  {
    Registry registry(path);
    registry.set_public_endpoint("proxy.example.com", 30123);
    registry.add_region("eu-de", "proxy.eu-de.example.com", 30124);
    registry.set_agent_image("registry.example.com/agent:2.0");
    id = registry.register_cluster(attached("prod"));
    token = registry.create_token("alice", 3600s);
    registry.grant("alice", id);
  }
  Registry registry(path);
  ASSERT_EQ(registry.clusters().size(), 1u);
  EXPECT_EQ(registry.cluster(id).name, "prod");
  ASSERT_TRUE(registry.public_endpoint().has_value());
  EXPECT_EQ(registry.public_endpoint()->host, "proxy.example.com");
  EXPECT_EQ(registry.public_endpoint()->port, 30123);
  ASSERT_EQ(registry.regions().size(), 1u);
  EXPECT_EQ(registry.agent_image(), "registry.example.com/agent:2.0");
  // The token and grant survived too: the download works.
  const AccessInfo info = registry.access_info(AccessRequest{id.str(), token, std::nullopt, std::nullopt});
  EXPECT_TRUE(info.is_first_download());
}

TEST(Registry, AnEmptyExistingFileBecomesARegistry) {
  TempDir dir;
  const std::string path = dir.file("empty.db");
  testing::write_bytes(path, "");
  Registry registry(path);
  EXPECT_TRUE(registry.clusters().empty());
  EXPECT_FALSE(registry.ca_certificate_pem().empty());
}

TEST(Registry, NewerSchemaVersionIs500) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { Registry registry(path); }
  raw_sql(path, ("PRAGMA user_version = " + std::to_string(kSchemaVersion + 1)).c_str());
  expect_storage_error(path);
  EXPECT_EQ(raw_query_int(path, "PRAGMA user_version"), kSchemaVersion + 1);  // left alone
}

TEST(Registry, SqliteDatabaseThatIsNotARegistryIs500AndLeftAlone) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  raw_sql(path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');");
  expect_storage_error(path);
  EXPECT_EQ(raw_query_int(path, "SELECT count(*) FROM notes"), 1);
  EXPECT_EQ(raw_query_int(path, "SELECT count(*) FROM sqlite_schema"), 1);
  EXPECT_EQ(raw_query_int(path, "PRAGMA user_version"), 0);
}

TEST(Registry, GarbageFileIs500AndLeftAlone) {
  TempDir dir;
  const std::string path = dir.file("garbage.db");
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>("not a database "[i % 15]);
  testing::write_bytes(path, garbage);
  expect_storage_error(path);
  EXPECT_EQ(testing::read_bytes(path), garbage);
}

TEST(Registry, TruncatedRegistryFileIs500) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { Registry registry(path); }
  const auto bytes = testing::read_bytes(path);
  ASSERT_TRUE(bytes.has_value());
  ASSERT_GT(bytes->size(), 200u);
  // Keep the header page's first bytes, corrupt the rest.
  std::string corrupt = bytes->substr(0, 100) + std::string(bytes->size() - 100, '\xee');
  testing::write_bytes(path, corrupt);
  expect_storage_error(path);
}

TEST(Registry, PathInMissingDirectoryIs500) {
  TempDir dir;
  expect_storage_error(dir.file("missing/state.db"));
}

TEST(Registry, DirectoryPathIs500) {
  TempDir dir;
  expect_storage_error(dir.path().string());
}

// A registry file the process may read but not write gives a 500 Error (not a
// crash) and changes nothing. Root may write anything, so as root the check
// runs in a child that drops to an unprivileged user.
TEST(Registry, ReadOnlyFileIs500AndRecordsNothing) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  ClusterId id = ClusterId::generate();
  std::string token;
  {
    Registry registry(path);
    registry.set_public_endpoint("proxy.example.com", 30123);
    id = registry.register_cluster(attached("prod"));
    token = registry.create_token("alice", 3600s);
    registry.grant("alice", id);
  }
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);

  const auto attempt = [&]() -> int {
    try {
      Registry registry(path);
      registry.access_info(AccessRequest{id.str(), token, std::nullopt, std::nullopt});
      return 1;  // a download from a read-only file
    } catch (const Error& error) {
      return error.http_status() == 500 ? 0 : 2;
    } catch (...) {
      return 3;
    }
  };

  EXPECT_EQ(testing::run_unprivileged(attempt), 0)
      << "-1: crashed, 1: downloaded, 2: not a 500, 3: not an Error, 4: setuid failed";

  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  Registry registry(path);
  EXPECT_TRUE(registry.downloads().empty());
  EXPECT_FALSE(registry.cluster(id).downloaded_at.has_value());
}

TEST(Registry, RejectsBadOptions) {
  RegistryOptions zero_validity;
  zero_validity.agent_certificate_validity = 0s;
  EXPECT_CA_ERROR(Registry(":memory:", zero_validity), 400, "UCS.01000011");
  RegistryOptions negative_timeout;
  negative_timeout.busy_timeout = std::chrono::milliseconds(-1);
  EXPECT_CA_ERROR(Registry(":memory:", negative_timeout), 400, "UCS.01000011");
}

TEST(Registry, IsMovable) {
  Registry original(":memory:");
  const ClusterId id = original.register_cluster(attached("prod"));
  Registry moved(std::move(original));
  EXPECT_EQ(moved.cluster(id).name, "prod");
  Registry assigned(":memory:");
  assigned = std::move(moved);
  EXPECT_EQ(assigned.cluster(id).name, "prod");
}

// --- clusters ----------------------------------------------------------------

TEST(Registry, RegisterGivesANewVersion4IdAndShowsTheCluster) {
  ManualClock clock;
  RegistryOptions options;
  options.clock = clock.function();
  Registry registry(":memory:", options);
  const ClusterId id = registry.register_cluster(attached("prod", AccessNetwork::kPrivate, "aks"));
  EXPECT_EQ(id.uuid().version(), boost::uuids::uuid::version_random_number_based);
  const Cluster cluster = registry.cluster(id);
  EXPECT_EQ(cluster.id, id);
  EXPECT_EQ(cluster.name, "prod");
  EXPECT_EQ(cluster.category, ClusterCategory::kAttached);
  EXPECT_EQ(cluster.provider, "aks");
  EXPECT_EQ(cluster.network, AccessNetwork::kPrivate);
  EXPECT_EQ(cluster.created_at, clock.now());
  EXPECT_FALSE(cluster.downloaded_at.has_value());
  EXPECT_FALSE(cluster.certificate_serial.has_value());
}

TEST(Registry, RegisterUnderAGivenId) {
  Registry registry(":memory:");
  ClusterSpec spec = attached("prod");
  spec.id = ClusterId::parse("00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(registry.register_cluster(spec), *spec.id);
  EXPECT_EQ(registry.cluster(*spec.id).name, "prod");
}

TEST(Registry, RegistersEveryProviderOfEachCategory) {
  Registry registry(":memory:");
  int n = 0;
  for (const char* provider : {"eks", "aks", "gke", "ack", "tke", "openshift", "privatek8s"}) {
    const ClusterId id = registry.register_cluster(attached("attached-" + std::to_string(n++), AccessNetwork::kPublic, provider));
    EXPECT_EQ(registry.cluster(id).provider, provider);
  }
  for (const char* provider : {"cce", "turbo"}) {
    const ClusterId id = registry.register_cluster(cce("cce-" + std::to_string(n++), provider));
    EXPECT_EQ(registry.cluster(id).category, ClusterCategory::kCce);
  }
  EXPECT_EQ(registry.clusters().size(), 9u);
}

TEST(Registry, ListsClustersOldestFirst) {
  ManualClock clock;
  RegistryOptions options;
  options.clock = clock.function();
  Registry registry(":memory:", options);
  const ClusterId first = registry.register_cluster(attached("zulu"));
  clock.advance(10);
  const ClusterId second = registry.register_cluster(attached("alpha"));
  clock.advance(10);
  const ClusterId third = registry.register_cluster(attached("mike"));
  const auto clusters = registry.clusters();
  ASSERT_EQ(clusters.size(), 3u);
  EXPECT_EQ(clusters[0].id, first);
  EXPECT_EQ(clusters[1].id, second);
  EXPECT_EQ(clusters[2].id, third);
  EXPECT_EQ(clusters[2].created_at, clock.now());
}

TEST(Registry, DuplicateNameIs409) {
  Registry registry(":memory:");
  registry.register_cluster(attached("prod"));
  EXPECT_CA_ERROR(registry.register_cluster(attached("prod")), 409, "UCS.01000006");
  EXPECT_EQ(registry.clusters().size(), 1u);
}

TEST(Registry, DuplicateIdIs409) {
  Registry registry(":memory:");
  const ClusterId id = registry.register_cluster(attached("prod"));
  ClusterSpec spec = attached("other");
  spec.id = id;
  EXPECT_CA_ERROR(registry.register_cluster(spec), 409, "UCS.01000006");
  EXPECT_EQ(registry.clusters().size(), 1u);
  EXPECT_EQ(registry.cluster(id).name, "prod");
}

TEST(Registry, BadClusterNamesAre400) {
  Registry registry(":memory:");
  for (const std::string& name : {std::string(""), std::string("abc"), std::string("Prod"), std::string("1abc"),
                                 std::string("-abc"), std::string("abc-"), std::string("ab_c"),
                                 std::string("ab.c"), std::string("ab c"), std::string("prod\n"),
                                 std::string(129, 'a'), std::string("caf\xc3\xa9")}) {
    const Error error = error_of([&] { registry.register_cluster(attached(name)); });
    EXPECT_EQ(error.http_status(), 400) << name;
    EXPECT_EQ(error.code(), "UCS.01000011") << name;
    EXPECT_NE(error.message().find("name"), std::string::npos) << error.message();
  }
  EXPECT_TRUE(registry.clusters().empty());
  // The limits themselves are fine.
  registry.register_cluster(attached("abcd"));
  registry.register_cluster(attached(std::string(128, 'a')));
  registry.register_cluster(attached("a-1-b"));
  EXPECT_EQ(registry.clusters().size(), 3u);
}

TEST(Registry, BadProvidersAre400) {
  Registry registry(":memory:");
  const std::vector<ClusterSpec> bad = {attached("one1", AccessNetwork::kPublic, "cce"),
                                        attached("two2", AccessNetwork::kPublic, "turbo"),
                                        attached("three", AccessNetwork::kPublic, ""),
                                        attached("four", AccessNetwork::kPublic, "EKS"),
                                        attached("five", AccessNetwork::kPublic, "eks "),
                                        cce("six6", "eks"),
                                        cce("seven", "")};
  for (const ClusterSpec& spec : bad) {
    const Error error = error_of([&] { registry.register_cluster(spec); });
    EXPECT_EQ(error.http_status(), 400) << spec.provider;
    EXPECT_EQ(error.code(), "UCS.01000011");
    EXPECT_NE(error.message().find("provider"), std::string::npos) << error.message();
  }
  EXPECT_TRUE(registry.clusters().empty());
}

TEST(Registry, UnknownClusterIs404) {
  Registry registry(":memory:");
  EXPECT_CA_ERROR(registry.cluster(ClusterId::generate()), 404, "UCS.01000005");
}

TEST(Registry, ParsesCategoryAndNetworkWords) {
  EXPECT_EQ(parse_cluster_category("attachedcluster"), ClusterCategory::kAttached);
  EXPECT_EQ(parse_cluster_category("self"), ClusterCategory::kCce);
  EXPECT_EQ(parse_access_network("public"), AccessNetwork::kPublic);
  EXPECT_EQ(parse_access_network("private"), AccessNetwork::kPrivate);
  EXPECT_EQ(to_string(ClusterCategory::kAttached), "attachedcluster");
  EXPECT_EQ(to_string(ClusterCategory::kCce), "self");
  EXPECT_EQ(to_string(AccessNetwork::kPublic), "public");
  EXPECT_EQ(to_string(AccessNetwork::kPrivate), "private");
  EXPECT_CA_ERROR(parse_cluster_category("cce"), 400, "UCS.01000011");
  EXPECT_CA_ERROR(parse_cluster_category("Self"), 400, "UCS.01000011");
  EXPECT_CA_ERROR(parse_access_network("PUBLIC"), 400, "UCS.01000011");
  EXPECT_CA_ERROR(parse_access_network(""), 400, "UCS.01000011");
}

// --- tokens and grants --------------------------------------------------------

TEST(Registry, CreatesDistinctTokens) {
  Registry registry(":memory:");
  const std::string a = registry.create_token("alice", 60s);
  const std::string b = registry.create_token("alice", 60s);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("cat_", 0), 0u);
}

TEST(Registry, TokenTtlBelowOneSecondIs400) {
  Registry registry(":memory:");
  EXPECT_CA_ERROR(registry.create_token("alice", 0s), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry.create_token("alice", -1s), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry.create_token("alice", std::chrono::seconds(std::numeric_limits<std::int64_t>::min())),
                  400, "UCS.01000011");
  registry.create_token("alice", 1s);
}

TEST(Registry, TokenTtlThatOverflowsIs400) {
  Registry registry(":memory:");
  EXPECT_CA_ERROR(registry.create_token("alice", std::chrono::seconds(std::numeric_limits<std::int64_t>::max())),
                  400, "UCS.01000011");
}

TEST(Registry, BadPrincipalNamesAre400) {
  Registry registry(":memory:");
  const ClusterId id = registry.register_cluster(attached("prod"));
  for (const std::string& name : {std::string(""), std::string(" alice"), std::string("alice bob"),
                                 std::string(".alice"), std::string("-alice"), std::string("alice\n"),
                                 std::string(65, 'a'), std::string("al\0ice", 6), std::string("al/ice")}) {
    EXPECT_CA_ERROR(registry.create_token(name, 60s), 400, "UCS.01000011");
    EXPECT_CA_ERROR(registry.grant(name, id), 400, "UCS.01000011");
  }
  registry.create_token("alice.smith@example.com", 60s);
  registry.create_token(std::string(64, 'a'), 60s);
  registry.grant("Alice_2", id);
}

TEST(Registry, RevokingAnUnknownTokenIs404) {
  Registry registry(":memory:");
  EXPECT_CA_ERROR(registry.revoke_token("cat_unknown"), 404, "UCS.01000005");
  EXPECT_CA_ERROR(registry.revoke_token(""), 404, "UCS.01000005");
}

TEST(Registry, GrantToUnknownClusterIs404) {
  Registry registry(":memory:");
  EXPECT_CA_ERROR(registry.grant("alice", ClusterId::generate()), 404, "UCS.01000005");
}

TEST(Registry, GrantingTwiceIsHarmlessAndRevokingTwiceIs404) {
  Registry registry(":memory:");
  const ClusterId id = registry.register_cluster(attached("prod"));
  registry.grant("alice", id);
  registry.grant("alice", id);
  registry.revoke_grant("alice", id);
  EXPECT_CA_ERROR(registry.revoke_grant("alice", id), 404, "UCS.01000005");
  EXPECT_CA_ERROR(registry.revoke_grant("bob", id), 404, "UCS.01000005");
  EXPECT_CA_ERROR(registry.revoke_grant("alice", ClusterId::generate()), 404, "UCS.01000005");
}

// --- installation settings -----------------------------------------------------

TEST(Registry, AddRegionUpserts) {
  Registry registry(":memory:");
  registry.add_region("eu-de", "proxy.eu-de.example.com", 30123);
  registry.add_region("cn-north-4", "10.0.0.5", 443);
  registry.add_region("eu-de", "proxy2.eu-de.example.com", 30124);
  const auto regions = registry.regions();
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].name, "cn-north-4");  // by name
  EXPECT_EQ(regions[0].proxy.host, "10.0.0.5");
  EXPECT_EQ(regions[0].proxy.port, 443);
  EXPECT_EQ(regions[1].name, "eu-de");
  EXPECT_EQ(regions[1].proxy.host, "proxy2.eu-de.example.com");
  EXPECT_EQ(regions[1].proxy.port, 30124);
}

TEST(Registry, BadRegionsAre400) {
  Registry registry(":memory:");
  for (const std::string& name : {std::string(""), std::string("EU-DE"), std::string("eu_de"), std::string("-eu"),
                                 std::string("eu-"), std::string("eu--de"), std::string(64, 'a'),
                                 std::string("eu-de\n"), std::string("eu de")}) {
    const Error error = error_of([&] { registry.add_region(name, "proxy.example.com", 443); });
    EXPECT_EQ(error.http_status(), 400) << name;
    EXPECT_NE(error.message().find("region"), std::string::npos) << error.message();
  }
  for (const std::string& host : {std::string(""), std::string("proxy_example.com"), std::string("-proxy.com"),
                                 std::string("proxy.com."), std::string("proxy .com"), std::string("1.2.3"),
                                 std::string("proxy.example.com\"\n  evil: true")}) {
    EXPECT_CA_ERROR(registry.add_region("eu-de", host, 443), 400, "UCS.01000011");
  }
  for (const int port : {0, -1, 65536, 1 << 20}) {
    EXPECT_CA_ERROR(registry.add_region("eu-de", "proxy.example.com", port), 400, "UCS.01000011");
  }
  EXPECT_TRUE(registry.regions().empty());
  registry.add_region(std::string(63, 'a'), "proxy.example.com", 65535);
  registry.add_region("a", "PROXY.Example.COM", 1);
  registry.add_region("b", "2001:db8::1", 1);
  EXPECT_EQ(registry.regions().size(), 3u);
}

TEST(Registry, PublicEndpointIsSetAndReplaced) {
  Registry registry(":memory:");
  EXPECT_FALSE(registry.public_endpoint().has_value());
  registry.set_public_endpoint("proxy.example.com", 30123);
  ASSERT_TRUE(registry.public_endpoint().has_value());
  EXPECT_EQ(registry.public_endpoint()->host, "proxy.example.com");
  EXPECT_EQ(registry.public_endpoint()->port, 30123);
  registry.set_public_endpoint("192.0.2.10", 443);
  EXPECT_EQ(registry.public_endpoint()->host, "192.0.2.10");
  EXPECT_EQ(registry.public_endpoint()->port, 443);
}

TEST(Registry, BadPublicEndpointIs400AndKeepsThePreviousOne) {
  Registry registry(":memory:");
  registry.set_public_endpoint("proxy.example.com", 30123);
  EXPECT_CA_ERROR(registry.set_public_endpoint("", 30123), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry.set_public_endpoint("proxy example", 30123), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry.set_public_endpoint("proxy.example.com:80", 30123), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry.set_public_endpoint("proxy.example.com", 0), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry.set_public_endpoint("proxy.example.com", 65536), 400, "UCS.01000011");
  EXPECT_EQ(registry.public_endpoint()->host, "proxy.example.com");
  EXPECT_EQ(registry.public_endpoint()->port, 30123);
}

TEST(Registry, AgentImageDefaultsAndIsSet) {
  Registry registry(":memory:");
  EXPECT_EQ(registry.agent_image(), kDefaultAgentImage);
  registry.set_agent_image("registry.example.com/team/agent:1.2.3");
  EXPECT_EQ(registry.agent_image(), "registry.example.com/team/agent:1.2.3");
  const std::string digest =
      "registry.example.com/agent@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  registry.set_agent_image(digest);
  EXPECT_EQ(registry.agent_image(), digest);
}

TEST(Registry, BadAgentImageIs400) {
  Registry registry(":memory:");
  for (const std::string& image : {std::string(""), std::string("agent"), std::string("Registry.example.com/a:1"),
                                  std::string("a b/c:1"), std::string("/agent:1"), std::string("agent:1\n"),
                                  std::string("repo/agent:"), std::string("repo//agent:1"),
                                  std::string("repo/agent:1\"\n  evil: x"), std::string(256, 'a') + "/x:1"}) {
    const Error error = error_of([&] { registry.set_agent_image(image); });
    EXPECT_EQ(error.http_status(), 400) << image;
    EXPECT_NE(error.message().find("image"), std::string::npos) << error.message();
  }
  EXPECT_EQ(registry.agent_image(), kDefaultAgentImage);
}

TEST(Registry, DownloadsStartEmpty) {
  Registry registry(":memory:");
  registry.register_cluster(attached("prod"));
  EXPECT_TRUE(registry.downloads().empty());
}

}  // namespace
}  // namespace clusteraccess
