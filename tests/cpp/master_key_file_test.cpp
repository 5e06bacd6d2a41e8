// master_key_file: the master key's file is loaded, or created once however
// many callers race to create it.
#include "master_key_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "clusteraccess/error.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using testing::error_of;
using testing::TempDir;
namespace fs = std::filesystem;

void write_private(const std::string& path, std::string_view bytes) {
  testing::write_bytes(path, bytes);
  ::chmod(path.c_str(), 0600);
}

TEST(MasterKeyFile, LoadOrCreateMakesA32ByteFileWithMode0600) {
  TempDir dir;
  const std::string path = dir.file("state.db.key");
  const MasterKey key = master_key_file::load_or_create(path);
  struct stat status {};
  ASSERT_EQ(::stat(path.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0600u);
  EXPECT_EQ(testing::read_bytes(path), std::string(key.bytes()));
  EXPECT_EQ(master_key_file::load(path).bytes(), key.bytes());
}

TEST(MasterKeyFile, LoadOrCreateLoadsAnExistingFileAndNeverReplacesIt) {
  TempDir dir;
  const std::string path = dir.file("state.db.key");
  const std::string bytes(32, '\x5a');
  write_private(path, bytes);
  EXPECT_EQ(master_key_file::load_or_create(path).bytes(), bytes);
  EXPECT_EQ(testing::read_bytes(path), bytes);
}

TEST(MasterKeyFile, AMissingFileIsNothingToFindAndNotConfiguredToLoad) {
  TempDir dir;
  const std::string path = dir.file("state.db.key");
  EXPECT_FALSE(master_key_file::find(path).has_value());
  const Error error = error_of([&] { master_key_file::load(path); });
  EXPECT_EQ(error.code(), "UCS.01000009");
  EXPECT_NE(error.message().find("master key file does not exist"), std::string::npos) << error.message();
  EXPECT_FALSE(fs::exists(path));
}

TEST(MasterKeyFile, AFileOfAnyOtherSizeIsNotConfigured) {
  TempDir dir;
  const std::string path = dir.file("state.db.key");
  for (const std::size_t size : {std::size_t{0}, std::size_t{16}, std::size_t{31}, std::size_t{33}, std::size_t{64}}) {
    write_private(path, std::string(size, 'k'));
    EXPECT_CA_ERROR(master_key_file::load(path), 500, "UCS.01000009");
    EXPECT_CA_ERROR(master_key_file::find(path), 500, "UCS.01000009");
    EXPECT_CA_ERROR(master_key_file::load_or_create(path), 500, "UCS.01000009");
    EXPECT_EQ(testing::read_bytes(path), std::string(size, 'k'));
  }
}

TEST(MasterKeyFile, ThreadsRacingToCreateItAgreeOnOneKey) {
  for (int round = 0; round < 20; ++round) {
    TempDir dir;
    const std::string path = dir.file("state.db.key");
    constexpr int kThreads = 8;
    std::vector<std::string> keys(kThreads);
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        try {
          keys[static_cast<std::size_t>(t)] = std::string(master_key_file::load_or_create(path).bytes());
        } catch (const std::exception& error) {
          ADD_FAILURE() << error.what();
        }
      });
    }
    go = true;
    for (auto& thread : threads) thread.join();
    const auto stored = testing::read_bytes(path);
    ASSERT_TRUE(stored.has_value());
    for (const auto& key : keys) EXPECT_EQ(key, *stored);
    // One file, and no temporary file left behind.
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  }
}

}  // namespace
}  // namespace clusteraccess
