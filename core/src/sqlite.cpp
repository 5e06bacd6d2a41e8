#include "sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "clusteraccess/error.hpp"

namespace clusteraccess::sqlite {

int check(int rc) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return rc;
  // sqlite3_errstr gives the generic text of the code; sqlite3_errmsg could
  // name tables or the file, which must not reach an API caller.
  throw Error::storage(std::string(sqlite3_errstr(rc)) + " (SQLite code " + std::to_string(rc) + ")");
}

void Connection::Close::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

Connection::Connection(const std::string& path, bool create, std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  db_.reset(db);  // sqlite3_open_v2 may allocate a handle even when it fails
  check(rc);
  check(sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count())));
}

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

void Connection::exec(const char* sql) { check(sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr)); }

std::int64_t Connection::query_int(const char* sql) {
  Statement statement(*this, sql);
  if (!statement.step()) throw Error::storage("query returned no row");
  return statement.column_int(0);
}

int Connection::changes() const noexcept { return sqlite3_changes(db_.get()); }

std::string Connection::enable_wal(std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    sqlite3_stmt* raw = nullptr;
    check(sqlite3_prepare_v2(db_.get(), "PRAGMA journal_mode = WAL", -1, &raw, nullptr));
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> statement(raw, sqlite3_finalize);
    const int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(statement.get(), 0);
      return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
    }
    if (rc == SQLITE_DONE) return {};
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) check(rc);
    statement.reset();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

void backup(Connection& source, Connection& destination) {
  struct Finish {
    void operator()(sqlite3_backup* backup) const noexcept { sqlite3_backup_finish(backup); }
  };
  std::unique_ptr<sqlite3_backup, Finish> copy(
      sqlite3_backup_init(destination.get(), "main", source.get(), "main"));
  if (!copy) check(sqlite3_errcode(destination.get()));
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    // All pages in one step: the source's read lock is held for the copy
    // only, and a concurrent writer cannot restart it halfway.
    const int rc = sqlite3_backup_step(copy.get(), -1);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) check(rc);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  check(sqlite3_backup_finish(copy.release()));
}

void Statement::Finalize::operator()(sqlite3_stmt* statement) const noexcept {
  sqlite3_finalize(statement);
}

Statement::Statement(Connection& connection, std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  check(sqlite3_prepare_v3(connection.get(), sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &statement, nullptr));
  statement_.reset(statement);
}

Statement::~Statement() = default;
Statement::Statement(Statement&&) noexcept = default;
Statement& Statement::operator=(Statement&&) noexcept = default;

void Statement::bind(int index, std::int64_t value) {
  check(sqlite3_bind_int64(statement_.get(), index, value));
}

void Statement::bind(int index, std::string_view text) {
  check(sqlite3_bind_text(statement_.get(), index, text.data(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT));
}

void Statement::bind(int index, const std::optional<std::string>& text) {
  if (text) {
    bind(index, std::string_view(*text));
  } else {
    check(sqlite3_bind_null(statement_.get(), index));
  }
}

void Statement::bind_blob(int index, const void* data, std::size_t size) {
  check(sqlite3_bind_blob(statement_.get(), index, data, static_cast<int>(size), SQLITE_TRANSIENT));
}

void Statement::bind_blob_in_place(int index, const void* data, std::size_t size) {
  check(sqlite3_bind_blob(statement_.get(), index, data, static_cast<int>(size), SQLITE_STATIC));
}

void Statement::bind_in_place(int index, std::string_view text) {
  check(sqlite3_bind_text(statement_.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
}

bool Statement::step() { return check(sqlite3_step(statement_.get())) == SQLITE_ROW; }

void Statement::run() {
  if (step()) throw Error::storage("statement returned an unexpected row");
}

void Statement::reset() noexcept {
  sqlite3_reset(statement_.get());
  sqlite3_clear_bindings(statement_.get());
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(statement_.get(), column) == SQLITE_NULL;
}

std::int64_t Statement::column_int(int column) const {
  return sqlite3_column_int64(statement_.get(), column);
}

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(statement_.get(), column);
  const int size = sqlite3_column_bytes(statement_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::string Statement::column_bytes(int column) const {
  const void* bytes = sqlite3_column_blob(statement_.get(), column);
  const int size = sqlite3_column_bytes(statement_.get(), column);
  if (bytes == nullptr) return {};
  return std::string(static_cast<const char*>(bytes), static_cast<std::size_t>(size));
}

std::optional<std::string> Statement::column_optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_text(column);
}

std::optional<std::int64_t> Statement::column_optional_int(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_int(column);
}

void Statement::column_blob(int column, void* out, std::size_t size) const {
  const void* blob = sqlite3_column_blob(statement_.get(), column);
  const int actual = sqlite3_column_bytes(statement_.get(), column);
  if (blob == nullptr || static_cast<std::size_t>(actual) != size) {
    throw Error::storage("stored value has an unexpected size");
  }
  std::memcpy(out, blob, size);
}

PragmaReset::~PragmaReset() { sqlite3_exec(connection_.get(), pragma_, nullptr, nullptr, nullptr); }

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(connection_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  connection_.exec("COMMIT");
  open_ = false;
}

ReadTransaction::ReadTransaction(Connection& connection) : connection_(connection) {
  connection_.exec("BEGIN DEFERRED");
}

ReadTransaction::~ReadTransaction() {
  sqlite3_exec(connection_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace clusteraccess::sqlite
