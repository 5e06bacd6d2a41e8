// Where the crash driver's registry lives -- a SQLite file, or a schema of
// its own in a PostgreSQL database -- and what the driver does to that
// database besides calling the library: its own check of the database after
// the kills, and, on PostgreSQL, the SIGKILL of the server processes that
// serve a child's downloads.
#pragma once

#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "clusteraccess/clusteraccess.hpp"
#include "postgres.hpp"
#include "postgres_scratch_schema.hpp"

namespace crash {

namespace ca = clusteraccess;

class Location {
 public:
  /// `db`: a PostgreSQL URI (the registry goes in a new schema of its
  /// database, dropped at the end), a file path, or empty (a file in a new
  /// temporary directory, removed at the end).
  explicit Location(const std::string& db) {
    if (ca::postgres::is_uri(db)) {
      schema_.emplace(db, "crash_");
      path_ = schema_->uri();
      private_dir_ = make_private_dir();
      options_.master_key_file = (private_dir_ / "master.key").string();
      return;
    }
    if (!db.empty()) {
      path_ = db;
      return;
    }
    private_dir_ = make_private_dir();
    path_ = (private_dir_ / "registry.db").string();
  }
  ~Location() {
    schema_.reset();
    if (private_dir_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(private_dir_, ignored);
  }
  Location(const Location&) = delete;
  Location& operator=(const Location&) = delete;

  bool postgres() const noexcept { return schema_.has_value(); }
  /// For the driver's report: the file, or the schema (a URI can hold a password).
  std::string describe() const { return postgres() ? "PostgreSQL schema " + schema_->name() : path_; }

  /// A registry on it. On PostgreSQL its connections carry
  /// `application_name`, by which the driver finds their server processes.
  ca::Registry open(const std::string& application_name = {}) const {
    if (!postgres() || application_name.empty()) return ca::Registry(path_, options_);
    return ca::Registry(ca::testing::with_parameter(path_, "application_name=" + application_name), options_);
  }

  /// "ok", or what is wrong with the database itself after the kills: on
  /// SQLite, integrity_check and foreign_key_check; on PostgreSQL (which
  /// keeps its own constraints), every grant's copy of its cluster's access
  /// state (docs/postgres.md) against the cluster's.
  std::string check_database() const {
    if (postgres()) {
      ca::postgres::Connection connection(path_, std::chrono::seconds(30));
      const auto stale = connection.exec(
          "SELECT count(*) FROM grants AS g JOIN clusters AS c ON c.id = g.cluster_id "
          "WHERE (g.category, g.network, g.downloaded, g.generation) IS DISTINCT FROM "
          "(c.category, c.network, c.downloaded_at IS NOT NULL, c.generation)");
      const std::int64_t count = stale.integer(0, 0);
      return count == 0 ? "ok" : std::to_string(count) + " grants hold a stale copy of their cluster's state";
    }
    const std::string integrity = pragma_text("PRAGMA integrity_check");
    if (integrity != "ok") return "integrity_check: " + integrity;
    const std::string foreign_keys = pragma_text("PRAGMA foreign_key_check");
    if (!foreign_keys.empty()) return "foreign_key_check: " + foreign_keys;
    return "ok";
  }

  /// PostgreSQL: SIGKILLs the server processes of the connections named
  /// `application_name`, and returns how many it killed (none when they are
  /// gone already, e.g. ended by another kill's restart). The postmaster then
  /// ends every other session and recovers from its write-ahead log, as after
  /// a crash of the server. Throws unless the server is on this machine (a
  /// Unix socket) and its processes may be signalled (root, or their owner).
  int kill_server_processes(const std::string& application_name) const {
    ca::postgres::Connection connection(path_, std::chrono::seconds(5));
    ca::postgres::Params params;
    params.add(application_name);
    const auto rows = connection.exec(
        "SELECT pid, inet_server_addr() IS NULL FROM pg_stat_activity "
        "WHERE application_name = $1 AND pid <> pg_backend_pid()",
        params);
    int killed = 0;
    for (int row = 0; row < rows.rows(); ++row) {
      const auto pid = static_cast<pid_t>(rows.integer(row, 0));
      if (!rows.boolean(row, 1)) {
        throw std::runtime_error("the database is not on a Unix socket: server kills need it on this machine");
      }
      const std::optional<std::string> name = process_name(pid);
      if (!name) continue;  // gone since the query
      if (name->rfind("postgres", 0) != 0) {
        throw std::runtime_error("process " + std::to_string(pid) + " is not a PostgreSQL server process");
      }
      if (::kill(pid, SIGKILL) == 0) {
        ++killed;
      } else if (errno != ESRCH) {
        throw std::runtime_error("cannot SIGKILL the server process " + std::to_string(pid) + ": " +
                                 std::strerror(errno) + " (run as root or as the server's owner)");
      }
    }
    return killed;
  }

  /// PostgreSQL: waits until the server takes connections again, after a
  /// kill; false when it does not within `limit`.
  bool wait_until_serving(std::chrono::seconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      try {
        ca::postgres::Connection connection(path_, std::chrono::seconds(5));
        connection.exec("SELECT 1");
        return true;
      } catch (const ca::Error&) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

 private:
  static std::filesystem::path make_private_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "clusteraccess-crash-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
  }

  // The command name of a live process, or nothing once it is gone.
  static std::optional<std::string> process_name(pid_t pid) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    if (!std::getline(comm, name)) return std::nullopt;
    return name;
  }

  // The rows of one pragma, joined by "; ".
  std::string pragma_text(const char* sql) const {
    struct Close {
      void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
    };
    struct Finalize {
      void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
    };
    sqlite3* raw_db = nullptr;
    const int opened = sqlite3_open_v2(path_.c_str(), &raw_db, SQLITE_OPEN_READWRITE, nullptr);
    const std::unique_ptr<sqlite3, Close> db(raw_db);
    if (opened != SQLITE_OK) return "cannot open";
    sqlite3_stmt* raw_statement = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql, -1, &raw_statement, nullptr) != SQLITE_OK) {
      return std::string("error: ") + sqlite3_errmsg(db.get());
    }
    const std::unique_ptr<sqlite3_stmt, Finalize> statement(raw_statement);
    std::string out;
    while (sqlite3_step(statement.get()) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(statement.get(), 0);
      if (!out.empty()) out += "; ";
      out += text ? reinterpret_cast<const char*>(text) : "NULL";
    }
    return out;
  }

  std::optional<ca::testing::ScratchSchema> schema_;
  std::filesystem::path private_dir_;
  std::string path_;
  ca::RegistryOptions options_;
};

}  // namespace crash
