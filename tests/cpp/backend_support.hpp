// The storage backends the backend-independent suites run against: a SQLite
// file, and a PostgreSQL database when $CLUSTERACCESS_TEST_POSTGRES names one
// (scripts/test.sh always starts a throwaway cluster and sets it).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "clusteraccess/registry_options.hpp"
#include "postgres.hpp"
#include "postgres_scratch_schema.hpp"
#include "postgres_store.hpp"
#include "sqlite_store.hpp"
#include "test_support.hpp"

namespace clusteraccess::testing {

/// "sqlite", and "postgres" when the test database is configured: the
/// values of a suite parametrized over the backends.
inline std::vector<std::string> test_backends() {
  std::vector<std::string> out{"sqlite"};
  if (!postgres_test_uri().empty()) out.emplace_back("postgres");
  return out;
}

/// A fresh, empty place for one test's registry: a file in a private
/// directory, or a new PostgreSQL schema (the registry's URI selects it
/// through search_path), dropped at the end.
class TestLocation {
 public:
  /// `in_memory`: SQLite's ":memory:" rather than a file.
  explicit TestLocation(std::string backend, bool in_memory = false) : backend_(std::move(backend)) {
    if (backend_ == "sqlite") {
      location_ = in_memory ? ":memory:" : dir_.file("state.db");
      return;
    }
    schema_ = std::make_unique<ScratchSchema>(postgres_test_uri(), "t_");
    location_ = schema_->uri();
  }
  TestLocation(const TestLocation&) = delete;
  TestLocation& operator=(const TestLocation&) = delete;

  const std::string& backend() const noexcept { return backend_; }
  bool is_postgres() const noexcept { return backend_ == "postgres"; }
  /// The registry's location: a file path or a URI.
  const std::string& location() const noexcept { return location_; }
  /// A directory for other files (a master key).
  const TempDir& dir() const noexcept { return dir_; }

  /// `options` for a Registry on this location: a PostgreSQL registry needs
  /// its master key file named.
  RegistryOptions registry_options(RegistryOptions options = {}) const {
    if (is_postgres() && options.master_key_file.empty()) options.master_key_file = dir_.file("master.key");
    return options;
  }

  /// A new store on this location.
  std::unique_ptr<Store> open(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    if (is_postgres()) return std::make_unique<PostgresStore>(location_, timeout);
    return std::make_unique<SqliteStore>(location_, timeout);
  }

  /// Runs `sql` on the registry's database outside the store; `sql` writes
  /// bytea/blob literals as hex through `hex_blob`.
  void exec(const std::string& sql) const {
    if (is_postgres()) {
      postgres::Connection connection(location_, std::chrono::seconds(30));
      connection.exec(sql.c_str());
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(location_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  /// The SQL literal of `bytes` as a blob (SQLite) or bytea (PostgreSQL).
  std::string hex_blob(const std::string& bytes) const {
    static const char* digits = "0123456789abcdef";
    std::string hex;
    for (const unsigned char c : bytes) {
      hex.push_back(digits[c >> 4]);
      hex.push_back(digits[c & 15]);
    }
    return is_postgres() ? "'\\x" + hex + "'::bytea" : "X'" + hex + "'";
  }

 private:
  std::string backend_;
  TempDir dir_;
  std::unique_ptr<ScratchSchema> schema_;
  std::string location_;
};

/// The name of a backend parameter, for test names.
struct BackendName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const { return info.param; }
};

}  // namespace clusteraccess::testing
