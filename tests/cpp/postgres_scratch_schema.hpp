// The test PostgreSQL database ($CLUSTERACCESS_TEST_POSTGRES, which
// scripts/test.sh sets to a throwaway cluster) and a schema of its own in it
// for one test or one crash-driver run. Free of GoogleTest: the crash driver
// (tests/crash) uses it as the suites do.
#pragma once

#include <chrono>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <utility>

#include "postgres.hpp"

namespace clusteraccess::testing {

/// The admin URI of the test PostgreSQL database, or empty.
inline std::string postgres_test_uri() {
  const char* uri = std::getenv("CLUSTERACCESS_TEST_POSTGRES");
  return uri == nullptr ? std::string() : std::string(uri);
}

inline std::string random_suffix() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::string out;
  for (int i = 0; i < 12; ++i) out.push_back("abcdefghijklmnopqrstuvwxyz0123456789"[random() % 36]);
  return out;
}

/// `uri` with `key=value` added to its query.
inline std::string with_parameter(const std::string& uri, const std::string& parameter) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + parameter;
}

/// A new, empty schema in the database of `admin_uri`, dropped with
/// everything in it at the end of the scope. `uri()` is `admin_uri` with the
/// schema first on its search_path: a registry opened on it lives there.
class ScratchSchema {
 public:
  ScratchSchema(std::string admin_uri, const std::string& prefix)
      : admin_uri_(std::move(admin_uri)), name_(prefix + random_suffix()) {
    postgres::Connection admin(admin_uri_, std::chrono::seconds(30));
    admin.exec(("CREATE SCHEMA " + name_).c_str());
    uri_ = with_parameter(admin_uri_, "options=-csearch_path%3D" + name_);
  }
  ~ScratchSchema() {
    try {
      postgres::Connection admin(admin_uri_, std::chrono::seconds(30));
      admin.exec(("DROP SCHEMA " + name_ + " CASCADE").c_str());
    } catch (const std::exception&) {
      // A run that stopped the server leaves its schema to the throwaway cluster.
    }
  }
  ScratchSchema(const ScratchSchema&) = delete;
  ScratchSchema& operator=(const ScratchSchema&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& uri() const noexcept { return uri_; }

 private:
  std::string admin_uri_;
  std::string name_;
  std::string uri_;
};

}  // namespace clusteraccess::testing
