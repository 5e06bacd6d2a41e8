// Thin RAII layer over libpq, the PostgreSQL client library.
//
// libpq-fe.h stays in postgres.cpp: the handles are forward-declared and
// owned by unique_ptrs with out-of-line deleters. Every result goes through
// `check`, which maps its SQLSTATE to our errors (docs/contract.md, Storage
// backends) and never carries the server's message, which can quote values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "clusteraccess/error.hpp"

struct pg_conn;
struct pg_result;

namespace clusteraccess::postgres {

/// A serialization failure (40001) or a deadlock (40P01): the server rolled
/// the transaction back and it may be run again from its start, which
/// `run_transaction` does. Should it escape, it is a storage failure.
class RetryableConflict : public Error {
 public:
  RetryableConflict();
};

/// A unique constraint (23505) refused a row. Methods whose contract names a
/// 409 for it catch it; anywhere else it is a storage failure.
class UniqueViolation : public Error {
 public:
  UniqueViolation();
};

/// The parameters of one statement, in order ($1, $2, ...): text, or bytes
/// sent in binary (bytea), or NULL.
class Params {
 public:
  Params& add(std::int64_t value);
  Params& add(std::string_view text);
  Params& add(const std::string& text) { return add(std::string_view(text)); }
  Params& add(const char* text) { return add(std::string_view(text)); }
  /// NULL when `text` is empty.
  Params& add(const std::optional<std::string>& text);
  Params& add(const std::optional<std::int64_t>& value);
  Params& add_bytes(const void* data, std::size_t size);
  Params& add_null();

  int size() const noexcept { return static_cast<int>(values_.size()); }
  /// Pointers into this object, valid while it lives unchanged.
  std::vector<const char*> values() const;
  std::vector<int> lengths() const;
  std::vector<int> formats() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<bool> binary_;
};

/// A statement prepared once per connection under `name` (a string literal:
/// the name identifies the text), on first use.
struct Query {
  const char* name;
  const char* sql;
};

/// The rows of one statement, in text format. Rows and columns start at 0.
class Result {
 public:
  Result() = default;
  explicit Result(pg_result* result) noexcept : result_(result) {}

  int rows() const noexcept;
  /// Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t affected() const;
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  std::optional<std::string> optional_text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  std::optional<std::int64_t> optional_integer(int row, int column) const;
  bool boolean(int row, int column) const;
  /// A bytea column's bytes (decoded from the text format's hex form).
  std::string bytes(int row, int column) const;

 private:
  friend class Connection;  // checks the results of a pipeline after reading them all
  struct Clear {
    void operator()(pg_result* result) const noexcept;
  };
  std::unique_ptr<pg_result, Clear> result_;
};

/// A prepared statement and its parameters, one of several sent together.
struct Statement {
  const Query& query;
  const Params& params;
};

/// One connection to the server. Use it from one thread at a time.
class Connection {
 public:
  /// Connects with the libpq connection string or URI `conninfo`, then sets
  /// statement_timeout and lock_timeout to `timeout` for the session (a
  /// statement past it fails, as a SQLite writer fails past its busy
  /// timeout). Throws `Error::storage` when the server cannot be reached; the
  /// message never holds the URI (it can hold a password).
  Connection(const std::string& conninfo, std::chrono::milliseconds timeout);
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;

  /// Runs `sql` (one or more statements without parameters, or none).
  Result exec(const char* sql);
  /// Runs `sql` once with `params`, unprepared.
  Result exec(const std::string& sql, const Params& params);
  /// Runs `query` with `params`, preparing it first on this connection.
  Result run(const Query& query, const Params& params);
  /// Runs `sql` (one statement without parameters), then each of
  /// `statements` in turn as `run` does, sending them all at once and
  /// reading every answer after: one round trip rather than one each
  /// (libpq's pipeline mode). The rows of `statements`, in their order. Once
  /// one fails, the ones after it are not run. The first failure is thrown as
  /// `run` throws it, once every answer is read and the connection is out of
  /// pipeline mode again -- or, when it cannot get out, marked unusable.
  /// `between`, when set, runs once everything is sent and before any answer
  /// is read: the client's work overlaps the server's. What it throws is
  /// thrown once every answer is read (before any statement's failure).
  std::vector<Result> run_after(const char* sql, const std::vector<Statement>& statements,
                                const std::function<void()>& between = {});
  /// False once the connection to the server was lost (or a statement left
  /// it unusable, e.g. in pipeline mode): a pool drops it rather than giving
  /// it out again.
  bool usable() const noexcept;
  /// Whether a transaction is open on the server (committed or rolled back
  /// by nobody yet, failed or not). A pool gives back only a connection that
  /// is usable and not in a transaction.
  bool in_transaction() const noexcept;

 private:
  // The one place every result passes: maps its SQLSTATE to our errors.
  Result check(pg_result* result);
  struct Finish {
    void operator()(pg_conn* connection) const noexcept;
  };
  std::unique_ptr<pg_conn, Finish> connection_;
  std::unordered_set<std::string> prepared_;
  bool broken_ = false;
};

/// A transaction (READ COMMITTED) for the length of a scope: rolled back
/// unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& connection, bool read_only = false);
  /// Opens a READ COMMITTED transaction and runs `statements` in it, all in
  /// one round trip (`Connection::run_after`); their rows are `result(i)`.
  /// When one fails, the transaction is rolled back and the error thrown.
  /// `between` as `Connection::run_after` runs it; what it throws also rolls
  /// the transaction back.
  Transaction(Connection& connection, const std::vector<Statement>& statements,
              const std::function<void()>& between = {});
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();
  /// The rows of statement `index` of those the transaction was opened with.
  const Result& result(std::size_t index) const { return results_.at(index); }

 private:
  void roll_back() noexcept;

  Connection& connection_;
  bool open_ = true;
  std::vector<Result> results_;
};

/// Runs `body` (which opens, and commits, its own transaction) again when
/// the server rolled it back for a serialization failure or a deadlock, a
/// few times, then lets the `RetryableConflict` (a storage failure) escape.
template <typename Body>
auto retrying(Body&& body) -> decltype(body()) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    try {
      return body();
    } catch (const RetryableConflict&) {
      if (attempt == kAttempts) throw;
    }
  }
}

/// Whether `location` names a PostgreSQL database (a `postgresql://` or
/// `postgres://` URI) rather than a file.
bool is_uri(std::string_view location) noexcept;

}  // namespace clusteraccess::postgres
