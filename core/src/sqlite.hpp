// Thin RAII layer over the SQLite C API.
//
// sqlite3.h stays in sqlite.cpp: the handles are forward-declared and owned by
// unique_ptrs with out-of-line deleters. Every SQLite return code goes through
// `check`, which throws `Error::storage` carrying the code's text.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace clusteraccess::sqlite {

/// Returns `rc` when it is SQLITE_OK, SQLITE_ROW or SQLITE_DONE; throws
/// `Error::storage` otherwise. The message names the (extended) result code
/// but never the SQL, the file or values.
int check(int rc);

/// One database connection.
class Connection {
 public:
  /// Opens (creating it if `create`) the database at `path` with the given
  /// busy timeout. The connection is in multi-thread mode: use it from one
  /// thread at a time.
  Connection(const std::string& path, bool create, std::chrono::milliseconds busy_timeout);
  /// Opens with SQLITE_OPEN_NOFOLLOW: a symbolic link at `path` is refused,
  /// never followed.
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;

  /// Runs one or more statements that return no rows.
  void exec(const char* sql);
  /// Runs a single-value query (e.g. a PRAGMA) and returns its first column.
  std::int64_t query_int(const char* sql);
  /// Rows changed by the last INSERT, UPDATE or DELETE.
  int changes() const noexcept;
  /// Runs `PRAGMA journal_mode = WAL` and returns the mode in force after it
  /// ("wal" on success). Switching a file to WAL needs exclusive access and
  /// SQLite does not run the busy handler for it, so when several connections
  /// open a new file at once some get SQLITE_BUSY at once: this retries, with
  /// a short backoff, for up to `budget` before throwing `Error::storage`.
  std::string enable_wal(std::chrono::milliseconds budget);
  sqlite3* get() const noexcept { return db_.get(); }

 private:
  struct Close {
    void operator()(sqlite3* db) const noexcept;
  };
  std::unique_ptr<sqlite3, Close> db_;
};

/// Copies the whole database of `source` into `destination` (an open, empty
/// database) with SQLite's online backup API: a consistent snapshot, taken
/// while other connections go on reading and writing. A writer that changes
/// the source mid-copy makes the copy start over, so it always ends with one
/// committed state.
void backup(Connection& source, Connection& destination);

/// A prepared statement, kept for reuse. Bind indexes start at 1, columns at 0.
class Statement {
 public:
  Statement(Connection& connection, std::string_view sql);
  ~Statement();
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;

  void bind(int index, std::int64_t value);
  void bind(int index, std::string_view text);
  void bind(int index, const std::string& text) { bind(index, std::string_view(text)); }
  void bind(int index, const char* text) { bind(index, std::string_view(text)); }
  /// Binds NULL when `text` is empty.
  void bind(int index, const std::optional<std::string>& text);
  void bind_blob(int index, const void* data, std::size_t size);
  /// Binds the bytes without copying them: they must stay valid, unchanged,
  /// until the statement is reset.
  void bind_blob_in_place(int index, const void* data, std::size_t size);
  /// Binds the text without copying it, under the same condition.
  void bind_in_place(int index, std::string_view text);

  /// Steps once: true when a row is available, false when done.
  bool step();
  /// Steps a statement that returns no rows.
  void run();
  /// Resets the statement and clears its bindings, ready for reuse.
  void reset() noexcept;

  bool is_null(int column) const;
  std::int64_t column_int(int column) const;
  std::string column_text(int column) const;
  /// The column's bytes as they are stored (a blob, or text), empty for NULL.
  std::string column_bytes(int column) const;
  std::optional<std::string> column_optional_text(int column) const;
  std::optional<std::int64_t> column_optional_int(int column) const;
  /// The column as a blob of exactly `size` bytes; throws `Error::storage`
  /// when its size differs.
  void column_blob(int column, void* out, std::size_t size) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* statement) const noexcept;
  };
  std::unique_ptr<sqlite3_stmt, Finalize> statement_;
};

/// Resets a statement when the scope ends, whether it finished or threw.
class StatementScope {
 public:
  explicit StatementScope(Statement& statement) noexcept : statement_(statement) {}
  ~StatementScope() { statement_.reset(); }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;
  Statement* operator->() noexcept { return &statement_; }
  Statement& operator*() noexcept { return statement_; }

 private:
  Statement& statement_;
};

/// Runs `pragma` (which must set a connection setting back to what it was)
/// when the scope ends, whether it finished or threw, so that a pooled
/// connection goes back to the pool as it came out of it.
class PragmaReset {
 public:
  PragmaReset(Connection& connection, const char* pragma) noexcept
      : connection_(connection), pragma_(pragma) {}
  ~PragmaReset();
  PragmaReset(const PragmaReset&) = delete;
  PragmaReset& operator=(const PragmaReset&) = delete;

 private:
  Connection& connection_;
  const char* pragma_;
};

/// A write transaction (BEGIN IMMEDIATE, so it takes the write lock up front
/// and never fails to upgrade mid-way). Rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& connection_;
  bool open_ = true;
};

/// A read transaction (BEGIN DEFERRED) for the length of a scope: the reads
/// inside see one snapshot. It writes nothing, so it simply ends with the
/// scope.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& connection);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Connection& connection_;
};

}  // namespace clusteraccess::sqlite
