// The registry's files are used only when they are ours: never through a
// symbolic link, never a file another user made or one with a second hard
// link (registry.hpp; docs/contract.md, "State").
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "clusteraccess/registry.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using testing::error_of;
using testing::TempDir;
namespace fs = std::filesystem;

// Opening `path` is refused with a 500 storage error whose message has
// `words` and no path, and no key file is made for it.
void expect_refused(const std::string& path, std::string_view words) {
  const Error error = error_of([&] { Registry registry(path); });
  EXPECT_EQ(error.http_status(), 500) << error.what();
  EXPECT_EQ(error.code(), "UCS.01000007") << error.what();
  EXPECT_NE(error.message().find(words), std::string::npos) << error.message();
  EXPECT_EQ(error.message().find(fs::path(path).parent_path().string()), std::string::npos) << error.message();
  EXPECT_FALSE(fs::exists(path + ".key")) << "a key file was made for a refused registry";
}

TEST(RegistryFiles, ASymlinkToAFileElsewhereIsRefusedAndTheTargetIsUnchanged) {
  TempDir dir;
  TempDir elsewhere;
  const std::string target = elsewhere.file("victim");
  testing::write_bytes(target, "");
  const std::string path = dir.file("state.db");
  fs::create_symlink(target, path);
  expect_refused(path, "symbolic link");
  EXPECT_EQ(testing::read_bytes(target), "");
  EXPECT_TRUE(fs::is_symlink(path));
}

TEST(RegistryFiles, ASymlinkToAnotherRegistryIsRefused) {
  TempDir dir;
  const std::string real = dir.file("real.db");
  { Registry registry(real); }
  const auto before = testing::read_bytes(real);
  const std::string path = dir.file("state.db");
  fs::create_symlink(real, path);
  expect_refused(path, "symbolic link");
  EXPECT_EQ(testing::read_bytes(real), before);
}

TEST(RegistryFiles, ADanglingSymlinkIsRefusedAndNothingIsCreated) {
  TempDir dir;
  const std::string target = dir.file("would-be-created");
  const std::string path = dir.file("state.db");
  fs::create_symlink(target, path);
  expect_refused(path, "symbolic link");
  EXPECT_FALSE(fs::exists(target));
}

TEST(RegistryFiles, AHardLinkedFileIsRefusedAndStaysEmpty) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  testing::write_bytes(path, "");
  ::chmod(path.c_str(), 0600);
  fs::create_hard_link(path, dir.file("second-name"));
  expect_refused(path, "hard link");
  EXPECT_EQ(testing::read_bytes(path), "");
}

TEST(RegistryFiles, ARegistryWithASecondHardLinkIsRefusedUnchanged) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { Registry registry(path); }
  fs::remove(path + ".key");  // so that expect_refused can tell no key file was made
  const auto before = testing::read_bytes(path);
  fs::create_hard_link(path, dir.file("copy.db"));
  expect_refused(path, "hard link");
  EXPECT_EQ(testing::read_bytes(path), before);
}

TEST(RegistryFiles, ASymlinkedWriteAheadLogIsRefused) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { Registry registry(path); }
  fs::remove(path + ".key");  // so that expect_refused can tell no key file was made
  TempDir elsewhere;
  const std::string target = elsewhere.file("wal");
  fs::create_symlink(target, path + "-wal");
  expect_refused(path, "symbolic link");
  EXPECT_FALSE(fs::exists(target));
}

TEST(RegistryFiles, AFileOwnedByAnotherUserIsRefusedAndStaysEmpty) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  TempDir dir;
  const std::string path = dir.file("state.db");
  testing::write_bytes(path, "");
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  expect_refused(path, "owned by another user");
  EXPECT_EQ(testing::read_bytes(path), "");
}

TEST(RegistryFiles, ADirectoryIsRefused) {
  TempDir dir;
  expect_refused(dir.path().string(), "not a regular file");
}

}  // namespace
}  // namespace clusteraccess
