// Registry::backup: a consistent online copy in a new private file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "clusteraccess/error.hpp"
#include "clusteraccess/registry.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using testing::error_of;
using testing::TempDir;

struct Installed {
  std::vector<ClusterId> clusters;
  std::string token;
};

Installed install(Registry& registry, int clusters) {
  registry.set_public_endpoint("proxy.example.com", 30123);
  Installed installed{{}, registry.create_token("alice", std::chrono::hours(1))};
  for (int i = 0; i < clusters; ++i) {
    ClusterSpec spec;
    spec.name = "backup-" + std::to_string(1000 + i);
    spec.provider = "eks";
    installed.clusters.push_back(registry.register_cluster(spec));
    registry.grant("alice", installed.clusters.back());
  }
  return installed;
}

// The copy opens with the original's master key file; it is not copied.
RegistryOptions with_key_of(const std::string& original) {
  RegistryOptions options;
  options.master_key_file = original + ".key";
  return options;
}

AccessInfo download(Registry& registry, const ClusterId& id, const std::string& token) {
  return registry.access_info({id.str(), token, std::nullopt, std::nullopt});
}

TEST(Backup, TheCopyIsPrivateAndAnswersAsTheRegistryDid) {
  TempDir dir;
  Registry registry(dir.file("live.db"));
  const Installed installed = install(registry, 2);
  ASSERT_TRUE(download(registry, installed.clusters[0], installed.token).is_first_download());

  const std::string copy_path = dir.file("copy.db");
  registry.backup(copy_path);
  struct stat status {};
  ASSERT_EQ(::stat(copy_path.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0600u);

  EXPECT_FALSE(std::filesystem::exists(copy_path + ".key")) << "the master key must not travel with the copy";
  EXPECT_EQ(error_of([&] { Registry unopened(copy_path); }).code(), error_code::kNotConfigured);
  Registry copy(copy_path, with_key_of(dir.file("live.db")));
  EXPECT_EQ(copy.ca_certificate_pem(), registry.ca_certificate_pem());
  EXPECT_EQ(copy.clusters().size(), 2u);
  ASSERT_EQ(copy.downloads().size(), 1u);
  EXPECT_EQ(copy.downloads()[0].certificate_serial, registry.downloads()[0].certificate_serial);
  EXPECT_EQ(download(copy, installed.clusters[0], installed.token).documents,
            std::vector<std::string>{kDownloaded});
  EXPECT_TRUE(download(copy, installed.clusters[1], installed.token).is_first_download());
}

TEST(Backup, CopiesTakenDuringDownloadsHoldEachDownloadWhole) {
  TempDir dir;
  Registry registry(dir.file("live.db"));
  const Installed installed = install(registry, 30);
  std::thread downloader([&] {
    for (const auto& id : installed.clusters) download(registry, id, installed.token);
  });
  std::vector<std::string> copies;
  for (int i = 0; i < 5; ++i) {
    copies.push_back(dir.file("copy-" + std::to_string(i) + ".db"));
    registry.backup(copies.back());
  }
  downloader.join();
  for (const auto& path : copies) {
    Registry copy(path, with_key_of(dir.file("live.db")));
    std::map<std::string, std::string> recorded;
    for (const auto& record : copy.downloads()) recorded[record.cluster_id.str()] = record.certificate_serial;
    for (const auto& cluster : copy.clusters()) {
      const auto found = recorded.find(cluster.id.str());
      EXPECT_EQ(cluster.certificate_serial.has_value(), found != recorded.end()) << path;
      if (cluster.certificate_serial && found != recorded.end()) {
        EXPECT_EQ(*cluster.certificate_serial, found->second);
      }
    }
  }
}

TEST(Backup, NeverOverwritesAFileAndLeavesNoFileWhenItFails) {
  TempDir dir;
  Registry registry(dir.file("live.db"));
  const std::string taken = dir.file("taken.db");
  std::ofstream(taken) << "keep me";
  const Error refused = error_of([&] { registry.backup(taken); });
  EXPECT_EQ(refused.http_status(), 500);
  EXPECT_NE(refused.message().find("exists already"), std::string::npos) << refused.message();
  std::ifstream in(taken);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep me");

  const std::string nowhere = dir.file("no-such-dir/copy.db");
  EXPECT_EQ(error_of([&] { registry.backup(nowhere); }).http_status(), 500);
  EXPECT_FALSE(std::filesystem::exists(nowhere));
}

TEST(Backup, AnInMemoryRegistryIsSavedOnlyWithAKeyFile) {
  TempDir dir;
  Registry ephemeral(":memory:");
  install(ephemeral, 1);
  const Error refused = error_of([&] { ephemeral.backup(dir.file("never.db")); });
  EXPECT_EQ(refused.code(), error_code::kNotConfigured);
  EXPECT_FALSE(std::filesystem::exists(dir.file("never.db")));

  RegistryOptions options;
  options.master_key_file = dir.file("memory.key");
  Registry keyed(":memory:", options);
  install(keyed, 1);
  keyed.backup(dir.file("saved.db"));
  EXPECT_EQ(Registry(dir.file("saved.db"), options).clusters().size(), 1u);
}

}  // namespace
}  // namespace clusteraccess
