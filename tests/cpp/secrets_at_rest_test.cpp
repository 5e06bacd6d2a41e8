// Secrets at rest: the CA private key is stored sealed under a master key that
// lives in its own file (docs/contract.md, "Secrets at rest"), and opening
// follows the rules of registry.hpp.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ca_vault.hpp"
#include "certificate_authority.hpp"
#include "clusteraccess/clusteraccess.hpp"
#include "master_key.hpp"
#include "schema.hpp"
#include "legacy_registry.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
using testing::RawDb;
using testing::TempDir;
namespace fs = std::filesystem;

// The base64 of the first bytes every unencrypted PKCS#8 P-256 key starts
// with: what a PEM "PRIVATE KEY" body begins with.
constexpr const char* kPkcs8P256Prefix = "MIGHAgEAMBMGByqGSM49";


// The bytes of the registry's database, -wal and -shm files (whichever exist).
std::string registry_bytes(const std::string& path) {
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm"}) bytes += testing::read_bytes(path + suffix).value_or("");
  return bytes;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The base64 body lines of a PEM block.
std::vector<std::string> pem_body_lines(std::string_view pem) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < pem.size()) {
    const auto end = pem.find('\n', pos);
    const std::string line(pem.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (!line.empty() && line.rfind("-----", 0) != 0) lines.push_back(line);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return lines;
}

// No trace of a clear private key, and none of `key_pem` in particular.
void expect_no_clear_key(const std::string& bytes, std::string_view key_pem, const std::string& when) {
  EXPECT_EQ(bytes.find("PRIVATE KEY"), std::string::npos) << when;
  EXPECT_EQ(bytes.find(kPkcs8P256Prefix), std::string::npos) << when;
  for (const std::string& line : pem_body_lines(key_pem)) {
    EXPECT_EQ(bytes.find(line), std::string::npos) << when << ": " << line;
  }
}

// The CA key of the registry at `path`, opened the way the library opens it:
// the stored sealed bytes and the key file, read outside the library.
std::string unsealed_ca_key(const std::string& path, const std::string& key_file) {
  const auto raw_key = testing::read_bytes(key_file);
  if (!raw_key) return {};
  RawDb db(path);
  const std::string sealed = db.text("SELECT private_key FROM certificate_authority");
  return std::string(MasterKey::from_bytes(*raw_key).open(sealed, CaVault::kCaKeyIdentity).view());
}

mode_t file_mode(const std::string& path) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) return 0;
  return status.st_mode & 07777;
}

void write_private(const std::string& path, std::string_view bytes, mode_t mode = 0600) {
  testing::write_bytes(path, bytes);
  ::chmod(path.c_str(), mode);
}

std::string random_bytes(std::size_t size) { return std::string(MasterKey::generate().bytes().substr(0, size)); }

ClusterSpec public_cluster(std::string name) {
  ClusterSpec spec;
  spec.name = std::move(name);
  spec.provider = "eks";
  return spec;
}

// Registers a cluster, grants it and downloads its manifest: the first
// document (the Secret).
std::string download(Registry& registry, const std::string& name) {
  registry.set_public_endpoint("proxy.example.com", 30123);
  const ClusterId id = registry.register_cluster(public_cluster(name));
  const std::string token = registry.create_token("alice", 3600s);
  registry.grant("alice", id);
  const AccessInfo info = registry.access_info(AccessRequest{id.str(), token, std::nullopt, std::nullopt});
  EXPECT_TRUE(info.is_first_download());
  return info.documents.at(0);
}

// A closed registry with a CA, its key file next to it.
struct SealedRegistry {
  TempDir dir;
  std::string path = dir.file("state.db");
  std::string key_file = path + ".key";
  SealedRegistry() { Registry registry(path); }
};

void expect_refused_unchanged(const SealedRegistry& sealed, const std::string& status_code,
                              std::string_view words, const RegistryOptions& options = {}) {
  const auto before = testing::read_bytes(sealed.path);
  const auto key_before = testing::read_bytes(sealed.key_file);
  const Error error = error_of([&] { Registry registry(sealed.path, options); });
  EXPECT_EQ(error.http_status(), 500) << error.what();
  EXPECT_EQ(error.code(), status_code) << error.what();
  EXPECT_NE(error.message().find(words), std::string::npos) << error.message();
  EXPECT_EQ(error.message().find(sealed.dir.path().string()), std::string::npos) << "a path in " << error.message();
  EXPECT_EQ(testing::read_bytes(sealed.path), before) << "the registry file changed";
  EXPECT_EQ(testing::read_bytes(sealed.key_file), key_before) << "the key file changed";
  EXPECT_FALSE(fs::exists(sealed.path + "-wal"));
}

// --- a new registry ----------------------------------------------------------------

TEST(SecretsAtRest, ANewRegistryCreatesA32ByteKeyFileWithMode0600) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const mode_t old_umask = ::umask(0);
  { Registry registry(path); }
  ::umask(old_umask);
  EXPECT_EQ(file_mode(path + ".key"), 0600);
  EXPECT_EQ(testing::read_bytes(path + ".key").value_or("").size(), 32u);
  // Nothing else appeared: no temporary file left from publishing the key.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path())) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"state.db", "state.db.key"}));
}

TEST(SecretsAtRest, TheFilesHoldNoClearPrivateKeyOnlyTheSealedCaKey) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  Registry registry(path);
  download(registry, "prod");
  const std::string ca_key = unsealed_ca_key(path, path + ".key");
  ASSERT_EQ(ca_key.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << "the sealed key opens with the key file";
  ASSERT_FALSE(testing::read_bytes(path + "-wal").value_or("").empty()) << "expected a WAL while open";
  const std::string bytes = registry_bytes(path);
  ASSERT_NE(bytes.find(pem_body_lines(registry.ca_certificate_pem()).front()), std::string::npos)
      << "the scan does not see stored data";
  expect_no_clear_key(bytes, ca_key, "while the registry is open");
  // The key file is not in the database either.
  EXPECT_EQ(bytes.find(*testing::read_bytes(path + ".key")), std::string::npos);
}

TEST(SecretsAtRest, AGivenKeyFileIsUsedInsteadOfTheDefault) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  RegistryOptions options;
  options.master_key_file = dir.file("elsewhere.key");
  std::string certificate;
  {
    Registry registry(path, options);
    certificate = registry.ca_certificate_pem();
  }
  EXPECT_FALSE(fs::exists(path + ".key"));
  EXPECT_EQ(file_mode(options.master_key_file), 0600);
  EXPECT_EQ(unsealed_ca_key(path, options.master_key_file).rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  Registry reopened(path, options);
  EXPECT_EQ(reopened.ca_certificate_pem(), certificate);
  // Without the option, the default file does not exist: refused.
  EXPECT_CA_ERROR(Registry(path), 500, "UCS.01000009");
}

TEST(SecretsAtRest, AnInMemoryRegistryWritesNoKeyFile) {
  TempDir dir;
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  {
    Registry registry(":memory:");
    EXPECT_FALSE(download(registry, "prod").empty());
  }
  fs::current_path(cwd);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// --- a sealed registry with a bad or missing key ------------------------------------

TEST(SecretsAtRest, AMissingKeyFileIs500AndChangesNothing) {
  SealedRegistry sealed;
  fs::remove(sealed.key_file);
  expect_refused_unchanged(sealed, "UCS.01000009", "master key file does not exist");
  EXPECT_FALSE(fs::exists(sealed.key_file)) << "a new key would never open the sealed CA";
}

TEST(SecretsAtRest, AnotherKeyIs500AndChangesNothing) {
  SealedRegistry sealed;
  write_private(sealed.key_file, random_bytes(32));
  expect_refused_unchanged(sealed, "UCS.01000009", "master key does not open this registry");
}

TEST(SecretsAtRest, AKeyFileOfTheWrongSizeIs500AndChangesNothing) {
  SealedRegistry sealed;
  const std::string key = *testing::read_bytes(sealed.key_file);
  write_private(sealed.key_file, key.substr(0, 31));
  expect_refused_unchanged(sealed, "UCS.01000009", "master key file");
  write_private(sealed.key_file, key + "x");
  expect_refused_unchanged(sealed, "UCS.01000009", "master key file");
  write_private(sealed.key_file, "");
  expect_refused_unchanged(sealed, "UCS.01000009", "master key file");
}

TEST(SecretsAtRest, AKeyFileOthersMayReadIs500AndChangesNothing) {
  SealedRegistry sealed;
  ASSERT_EQ(::chmod(sealed.key_file.c_str(), 0644), 0);
  expect_refused_unchanged(sealed, "UCS.01000007", "make it mode 0600");
  ASSERT_EQ(::chmod(sealed.key_file.c_str(), 0640), 0);
  expect_refused_unchanged(sealed, "UCS.01000007", "make it mode 0600");
}

TEST(SecretsAtRest, AKeyFileThatIsASymlinkIs500AndChangesNothing) {
  SealedRegistry sealed;
  const std::string real = sealed.dir.file("real.key");
  fs::rename(sealed.key_file, real);
  fs::create_symlink(real, sealed.key_file);  // to the right key, even
  expect_refused_unchanged(sealed, "UCS.01000007", "symbolic link");
}

TEST(SecretsAtRest, AHardLinkedKeyFileIs500AndChangesNothing) {
  SealedRegistry sealed;
  fs::create_hard_link(sealed.key_file, sealed.dir.file("copy.key"));
  expect_refused_unchanged(sealed, "UCS.01000007", "hard link");
}

TEST(SecretsAtRest, TheRightKeyFileOpensAgainAfterARefusal) {
  SealedRegistry sealed;
  const std::string key = *testing::read_bytes(sealed.key_file);
  std::string certificate;
  {
    Registry registry(sealed.path);
    certificate = registry.ca_certificate_pem();
  }
  write_private(sealed.key_file, random_bytes(32));
  EXPECT_CA_ERROR(Registry(sealed.path), 500, "UCS.01000009");
  write_private(sealed.key_file, key);
  Registry registry(sealed.path);
  EXPECT_EQ(registry.ca_certificate_pem(), certificate);
  EXPECT_FALSE(download(registry, "prod").empty());
}

// --- a registry written before keys were sealed (schema version 1) -----------------

// A version 1 registry at `path` holding `ca` with its key in the clear, and
// some state. `keep_open`, when given, keeps the writing connection open, so
// that the clear key is still in the WAL (not yet in the database file).
void make_version1_registry(const std::string& path, const CaMaterial& ca, std::unique_ptr<RawDb>* keep_open = nullptr) {
  {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  auto db = std::make_unique<RawDb>(path);
  db->exec("PRAGMA journal_mode = WAL");
  db->exec(testing::schema_version_1());
  db->run("INSERT INTO certificate_authority (id, certificate_pem, private_key_pem, created_at) "
          "VALUES (1, ?1, ?2, 1700000000)",
          {ca.certificate_pem, std::string(ca.private_key_pem.view())});
  db->exec("INSERT INTO settings VALUES ('public_endpoint.host', 'proxy.example.com')");
  if (keep_open != nullptr) *keep_open = std::move(db);
}

void expect_sealed_version2(const std::string& path) {
  RawDb db(path);
  EXPECT_EQ(db.integer("PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(db.integer("SELECT key_sealed FROM certificate_authority"), 1);
  EXPECT_EQ(db.integer("SELECT count(*) FROM certificate_authority"), 1);
}

TEST(SecretsAtRest, AVersion1RegistryIsSealedOnOpenAndKeepsItsCa) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const CaMaterial ca = CertificateAuthority::create(1'700'000'000, std::chrono::hours(24 * 3650));
  make_version1_registry(path, ca);
  ASSERT_NE(testing::read_bytes(path)->find("BEGIN PRIVATE KEY"), std::string::npos) << "the fixture is clear";

  {
    Registry registry(path);
    EXPECT_EQ(registry.ca_certificate_pem(), ca.certificate_pem);
    EXPECT_EQ(file_mode(path + ".key"), 0600);
    expect_no_clear_key(registry_bytes(path), ca.private_key_pem.view(), "while the registry is open");
    // Downloads work, with the same CA.
    const std::string secret = download(registry, "prod");
    EXPECT_EQ(testing::yaml_quoted_value(secret, "ca.crt"), base64(ca.certificate_pem));
  }
  expect_sealed_version2(path);
  EXPECT_EQ(unsealed_ca_key(path, path + ".key"), ca.private_key_pem.view());
  expect_no_clear_key(registry_bytes(path), ca.private_key_pem.view(), "after the registry is closed");
  Registry reopened(path);
  EXPECT_EQ(reopened.ca_certificate_pem(), ca.certificate_pem);
}

TEST(SecretsAtRest, AVersion1RegistryWithItsClearKeyStillInTheWalIsSealedAndTheWalWiped) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const CaMaterial ca = CertificateAuthority::create(1'700'000'000, std::chrono::hours(24 * 3650));
  std::unique_ptr<RawDb> writer;
  make_version1_registry(path, ca, &writer);
  ASSERT_NE(registry_bytes(path).find("BEGIN PRIVATE KEY"), std::string::npos) << "the fixture is clear";
  {
    Registry registry(path);
    EXPECT_EQ(registry.ca_certificate_pem(), ca.certificate_pem);
    expect_no_clear_key(registry_bytes(path), ca.private_key_pem.view(), "with another connection open");
  }
  writer.reset();
  expect_no_clear_key(registry_bytes(path), ca.private_key_pem.view(), "after every connection closed");
  expect_sealed_version2(path);
}

TEST(SecretsAtRest, AVersion1RegistryIsSealedUnderAGivenKeyFile) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const CaMaterial ca = CertificateAuthority::create(1'700'000'000, std::chrono::hours(24 * 3650));
  make_version1_registry(path, ca);
  RegistryOptions options;
  options.master_key_file = dir.file("given.key");
  write_private(options.master_key_file, random_bytes(32));
  const auto given = testing::read_bytes(options.master_key_file);
  { Registry registry(path, options); }
  EXPECT_EQ(testing::read_bytes(options.master_key_file), given) << "an existing key file is never replaced";
  EXPECT_FALSE(fs::exists(path + ".key"));
  EXPECT_EQ(unsealed_ca_key(path, options.master_key_file), ca.private_key_pem.view());
}

TEST(SecretsAtRest, AVersion1RegistryWithABadKeyFileIsRefusedUnchanged) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const CaMaterial ca = CertificateAuthority::create(1'700'000'000, std::chrono::hours(24 * 3650));
  make_version1_registry(path, ca);
  write_private(path + ".key", random_bytes(32), 0644);
  const auto before = testing::read_bytes(path);
  EXPECT_CA_ERROR(Registry(path), 500, "UCS.01000007");
  EXPECT_EQ(testing::read_bytes(path), before);
  RawDb db(path);
  EXPECT_EQ(db.integer("PRAGMA user_version"), 1);
}

TEST(SecretsAtRest, ThreadsOpeningOneVersion1RegistryAtOnceSealItOnce) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const CaMaterial ca = CertificateAuthority::create(1'700'000'000, std::chrono::hours(24 * 3650));
  make_version1_registry(path, ca);
  constexpr int kThreads = 6;
  std::vector<std::string> certificates(kThreads);
  std::atomic<bool> go{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      try {
        Registry registry(path);
        certificates[static_cast<std::size_t>(t)] = registry.ca_certificate_pem();
      } catch (const std::exception& error) {
        ++errors;
        ADD_FAILURE() << error.what();
      }
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  for (const auto& certificate : certificates) EXPECT_EQ(certificate, ca.certificate_pem);
  expect_sealed_version2(path);
  EXPECT_EQ(unsealed_ca_key(path, path + ".key"), ca.private_key_pem.view());
  expect_no_clear_key(registry_bytes(path), ca.private_key_pem.view(), "after the race");
}

}  // namespace
}  // namespace clusteraccess
