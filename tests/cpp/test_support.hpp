// Helpers shared by the registry, store, rules and concurrency tests.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clusteraccess/error.hpp"

namespace clusteraccess::testing {

/// A private directory made with mkdtemp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "clusteraccess-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return (path_ / std::string(name)).string(); }

 private:
  std::filesystem::path path_;
};

/// A clock that only moves when told to; copies of `function()` share it.
class ManualClock {
 public:
  explicit ManualClock(std::int64_t start = 1'700'000'000) : now_(std::make_shared<std::atomic<std::int64_t>>(start)) {}
  std::int64_t now() const { return now_->load(); }
  void set(std::int64_t value) { now_->store(value); }
  void advance(std::int64_t seconds) { now_->fetch_add(seconds); }
  std::function<std::int64_t()> function() const {
    auto now = now_;
    return [now] { return now->load(); };
  }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> now_;
};

/// The bytes of a file, or nothing when it does not exist.
inline std::optional<std::string> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Runs `body`, which must throw an `Error`, and returns that error.
template <typename Body>
Error error_of(Body&& body) {
  try {
    body();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected a clusteraccess::Error, nothing was thrown";
  return Error(Status::kInternal, "UCS.00000000", "nothing thrown");
}

/// The journal mode of the SQLite file at `path`, read with the raw SQLite
/// API, outside the library; empty when it cannot be read.
inline std::string journal_mode(const std::string& path) {
  sqlite3* db = nullptr;
  std::string mode;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      mode = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return mode;
}

/// Runs `attempt` as a user who is not root, so that file permissions bind:
/// here when this process is not root, else in a forked child that drops to
/// user nobody (no connection of the caller may cross the fork). Returns what
/// `attempt` returned; 4 when the child could not drop root, -1 when it did
/// not exit normally (it crashed).
inline int run_unprivileged(const std::function<int()>& attempt) {
  if (::geteuid() != 0) return attempt();
  const pid_t child = ::fork();
  if (child < 0) {
    ADD_FAILURE() << "fork failed";
    return -2;
  }
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(4);
    ::_exit(attempt());
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child) {
    ADD_FAILURE() << "waitpid failed";
    return -2;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// The value of `key:` in a YAML document of the form `  key: "value"`.
inline std::optional<std::string> yaml_quoted_value(const std::string& document, std::string_view key) {
  const std::string needle = std::string(key) + ": \"";
  const auto start = document.find(needle);
  if (start == std::string::npos) return std::nullopt;
  const auto begin = start + needle.size();
  const auto end = document.find('"', begin);
  if (end == std::string::npos) return std::nullopt;
  return document.substr(begin, end - begin);
}

}  // namespace clusteraccess::testing

#define EXPECT_CA_ERROR(statement, status_value, code_value)                                    \
  do {                                                                                         \
    const ::clusteraccess::Error expect_ca_error_ =                                            \
        ::clusteraccess::testing::error_of([&] { (void)(statement); });                        \
    EXPECT_EQ(expect_ca_error_.http_status(), (status_value)) << expect_ca_error_.what();      \
    EXPECT_EQ(expect_ca_error_.code(), (code_value)) << expect_ca_error_.what();               \
  } while (false)
