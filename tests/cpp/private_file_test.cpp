// private_file: files that hold secrets are used only when they are ours.
#include "private_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "clusteraccess/error.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

void write_file(const std::string& path, std::string_view content, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
}

std::string content_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename Call>
void expect_refused(Call&& call, std::string_view code, std::string_view words) {
  try {
    call();
    FAIL() << "expected a refusal mentioning '" << words << "'";
  } catch (const Error& error) {
    EXPECT_EQ(error.http_status(), 500);
    EXPECT_EQ(error.code(), code);
    EXPECT_NE(error.message().find(words), std::string::npos) << error.message();
  }
}

TEST(PrivateFile, CreatesTheFileWithMode0600WhateverTheUmask) {
  TempDir dir;
  const std::string path = dir.file("master.key");
  const mode_t old_mask = ::umask(0);
  private_file::create(path, "secret", "master key file");
  ::umask(old_mask);
  struct stat status {};
  ASSERT_EQ(::stat(path.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0600u);
  EXPECT_EQ(content_of(path), "secret");
  EXPECT_EQ(private_file::read(path, "master key file", 64).view(), "secret");
}

TEST(PrivateFile, NeverOverwritesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("master.key");
  write_file(path, "old");
  expect_refused([&] { private_file::create(path, "new", "master key file"); },
                 error_code::kStorageFailure, "exists already");
  EXPECT_EQ(content_of(path), "old");
}

TEST(PrivateFile, TryCreateIsFalseForAnExistingNameAndLeavesNoTemporaryFile) {
  TempDir dir;
  const std::string path = dir.file("master.key");
  EXPECT_TRUE(private_file::try_create(path, "first", "master key file"));
  EXPECT_FALSE(private_file::try_create(path, "second", "master key file"));
  EXPECT_EQ(content_of(path), "first");
  fs::create_symlink(dir.file("elsewhere"), dir.file("link.key"));
  EXPECT_FALSE(private_file::try_create(dir.file("link.key"), "third", "master key file"));
  EXPECT_FALSE(fs::exists(dir.file("elsewhere")));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);
}

TEST(PrivateFile, AFailedCreateLeavesNoTemporaryFile) {
  TempDir dir;
  expect_refused([&] { private_file::create(dir.file("missing/master.key"), "secret", "master key file"); },
                 error_code::kStorageFailure, "cannot be created");
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(PrivateFile, NeverCreatesThroughAPlantedSymlink) {
  TempDir dir;
  const std::string target = dir.file("elsewhere");
  const std::string path = dir.file("master.key");
  fs::create_symlink(target, path);  // dangling: O_CREAT would create the target
  expect_refused([&] { private_file::create(path, "secret", "master key file"); },
                 error_code::kStorageFailure, "master key file");
  EXPECT_FALSE(fs::exists(target));
}

TEST(PrivateFile, RefusesToReadThroughASymlink) {
  TempDir dir;
  const std::string target = dir.file("real.key");
  write_file(target, "secret");
  const std::string path = dir.file("master.key");
  fs::create_symlink(target, path);
  expect_refused([&] { private_file::read(path, "master key file", 64); }, error_code::kStorageFailure,
                 "symbolic link");
  expect_refused([&] { private_file::exists_and_is_ours(path, "registry file"); },
                 error_code::kStorageFailure, "symbolic link");
}

TEST(PrivateFile, RefusesAFileWithASecondHardLink) {
  TempDir dir;
  const std::string path = dir.file("master.key");
  write_file(path, "secret");
  fs::create_hard_link(path, dir.file("copy"));
  expect_refused([&] { private_file::read(path, "master key file", 64); }, error_code::kStorageFailure,
                 "hard link");
  expect_refused([&] { private_file::exists_and_is_ours(path, "registry file"); },
                 error_code::kStorageFailure, "hard link");
}

TEST(PrivateFile, RefusesAKeyFileOthersMayRead) {
  TempDir dir;
  const std::string path = dir.file("master.key");
  write_file(path, "secret", 0644);
  expect_refused([&] { private_file::read(path, "master key file", 64); }, error_code::kStorageFailure,
                 "0600");
}

TEST(PrivateFile, RefusesADirectoryOrAFifo) {
  TempDir dir;
  const std::string directory = dir.file("dir");
  fs::create_directory(directory);
  expect_refused([&] { private_file::exists_and_is_ours(directory, "registry file"); },
                 error_code::kStorageFailure, "not a regular file");
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_refused([&] { private_file::exists_and_is_ours(fifo, "registry file"); },
                 error_code::kStorageFailure, "not a regular file");
}

TEST(PrivateFile, RefusesAFileOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  TempDir dir;
  const std::string path = dir.file("master.key");
  write_file(path, "secret");
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  expect_refused([&] { private_file::read(path, "master key file", 64); }, error_code::kStorageFailure,
                 "another user");
  expect_refused([&] { private_file::exists_and_is_ours(path, "registry file"); },
                 error_code::kStorageFailure, "another user");
}

TEST(PrivateFile, AMissingFileIsAConfigurationErrorOrSimplyAbsent) {
  TempDir dir;
  const std::string path = dir.file("missing.key");
  expect_refused([&] { private_file::read(path, "master key file", 64); }, error_code::kNotConfigured,
                 "does not exist");
  EXPECT_FALSE(private_file::exists_and_is_ours(path, "registry file"));
}

TEST(PrivateFile, RefusesAFileLargerThanExpected) {
  TempDir dir;
  const std::string path = dir.file("master.key");
  write_file(path, std::string(33, 'k'));
  expect_refused([&] { private_file::read(path, "master key file", 32); }, error_code::kNotConfigured,
                 "larger than expected");
  EXPECT_EQ(private_file::read(path, "master key file", 33).view(), std::string(33, 'k'));
}

TEST(PrivateFile, MessagesNeverContainThePath) {
  TempDir dir;
  const std::string path = dir.file("very-distinctive-name.key");
  try {
    private_file::read(path, "master key file", 64);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.message().find("very-distinctive-name"), std::string::npos);
  }
}

}  // namespace
}  // namespace clusteraccess
