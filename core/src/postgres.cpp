#include "postgres.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace clusteraccess::postgres {

namespace {

// The SQLSTATE classes and codes the store has to tell apart
// (https://www.postgresql.org/docs/15/errcodes-appendix.html).
bool is_connection_failure(std::string_view state) {
  // 08: connection exception; 57P01-57P03: the server is shutting down or
  // cannot accept connections; the connection is gone either way.
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  throw Error::storage("stored bytes are not in hex form");
}

}  // namespace

RetryableConflict::RetryableConflict()
    : Error(Error::storage("the transaction kept conflicting with others (PostgreSQL serialization failure or deadlock)")) {}

UniqueViolation::UniqueViolation()
    : Error(Error::storage("a unique constraint refused the row (PostgreSQL SQLSTATE 23505)")) {}

Params& Params::add(std::int64_t value) { return add(std::string_view(std::to_string(value))); }

Params& Params::add(std::string_view text) {
  values_.emplace_back(text);
  null_.push_back(false);
  binary_.push_back(false);
  return *this;
}

Params& Params::add(const std::optional<std::string>& text) {
  return text ? add(std::string_view(*text)) : add_null();
}

Params& Params::add(const std::optional<std::int64_t>& value) { return value ? add(*value) : add_null(); }

Params& Params::add_bytes(const void* data, std::size_t size) {
  values_.emplace_back(static_cast<const char*>(data), size);
  null_.push_back(false);
  binary_.push_back(true);
  return *this;
}

Params& Params::add_null() {
  values_.emplace_back();
  null_.push_back(true);
  binary_.push_back(false);
  return *this;
}

std::vector<const char*> Params::values() const {
  std::vector<const char*> out;
  for (std::size_t i = 0; i < values_.size(); ++i) out.push_back(null_[i] ? nullptr : values_[i].data());
  return out;
}

std::vector<int> Params::lengths() const {
  std::vector<int> out;
  for (const auto& value : values_) out.push_back(static_cast<int>(value.size()));
  return out;
}

std::vector<int> Params::formats() const {
  std::vector<int> out;
  for (const bool binary : binary_) out.push_back(binary ? 1 : 0);
  return out;
}

void Result::Clear::operator()(pg_result* result) const noexcept { PQclear(result); }

int Result::rows() const noexcept { return result_ ? PQntuples(result_.get()) : 0; }

std::int64_t Result::affected() const {
  const char* count = PQcmdTuples(result_.get());
  return count == nullptr || *count == '\0' ? 0 : std::strtoll(count, nullptr, 10);
}

bool Result::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::string Result::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::optional<std::string> Result::optional_text(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return text(row, column);
}

std::int64_t Result::integer(int row, int column) const {
  const std::string value = text(row, column);
  char* end = nullptr;
  const long long parsed = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || end != value.c_str() + value.size()) throw Error::storage("stored integer is invalid");
  return parsed;
}

std::optional<std::int64_t> Result::optional_integer(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return integer(row, column);
}

bool Result::boolean(int row, int column) const { return text(row, column) == "t"; }

std::string Result::bytes(int row, int column) const {
  // bytea_output is 'hex' (set per connection): "\x" then two digits a byte.
  const char* value = PQgetvalue(result_.get(), row, column);
  const auto length = static_cast<std::size_t>(PQgetlength(result_.get(), row, column));
  if (length < 2 || value[0] != '\\' || value[1] != 'x' || length % 2 != 0) {
    throw Error::storage("stored bytes are not in hex form");
  }
  std::string out;
  out.reserve((length - 2) / 2);
  for (std::size_t i = 2; i < length; i += 2) {
    out.push_back(static_cast<char>(hex_value(value[i]) * 16 + hex_value(value[i + 1])));
  }
  return out;
}

void Connection::Finish::operator()(pg_conn* connection) const noexcept { PQfinish(connection); }

Connection::Connection(const std::string& conninfo, std::chrono::milliseconds timeout) {
  // connect_timeout first: a value in the URI overrides it (later keywords
  // win over the expanded dbname's only when they come after it).
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "clusteraccess", conninfo.c_str(), nullptr};
  connection_.reset(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (!connection_) throw Error::storage("cannot allocate a PostgreSQL connection");
  if (PQstatus(connection_.get()) != CONNECTION_OK) {
    // PQerrorMessage names the host, the socket path or the user: not for
    // an API caller.
    broken_ = true;
    throw Error::storage("the PostgreSQL server cannot be reached");
  }
  // The server's notices and warnings are not the library's to print:
  // libpq's default writes them to the embedding process's stderr (a
  // service's structured log), and their text can quote values, as an
  // error's can (`check` never passes it on either).
  PQsetNoticeProcessor(connection_.get(), [](void* /*arg*/, const char* /*message*/) {}, nullptr);
  // 0 disables PostgreSQL's timeouts; a busy timeout of 0 means "do not wait".
  const auto milliseconds = std::max<std::int64_t>(timeout.count(), 1);
  const std::string settings = "SET statement_timeout = " + std::to_string(milliseconds) +
                               "; SET lock_timeout = " + std::to_string(milliseconds) +
                               "; SET bytea_output = 'hex'; SET client_min_messages = error";
  exec(settings.c_str());
}

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

bool Connection::usable() const noexcept {
  return !broken_ && connection_ && PQstatus(connection_.get()) == CONNECTION_OK &&
         PQpipelineStatus(connection_.get()) == PQ_PIPELINE_OFF;
}

bool Connection::in_transaction() const noexcept {
  return connection_ && PQtransactionStatus(connection_.get()) != PQTRANS_IDLE;
}

Result Connection::check(pg_result* raw) {
  Result result(raw);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* code = raw == nullptr ? nullptr : PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  const std::string state = code == nullptr ? std::string() : std::string(code);
  if (raw == nullptr || state.empty() || is_connection_failure(state) ||
      PQstatus(connection_.get()) != CONNECTION_OK) {
    broken_ = true;
    throw Error::storage("the connection to the PostgreSQL server was lost");
  }
  if (state == "40001" || state == "40P01") throw RetryableConflict();
  if (state == "23505") throw UniqueViolation();
  if (state == "57014") throw Error::storage("a PostgreSQL statement ran past its timeout (SQLSTATE 57014)");
  if (state == "55P03") throw Error::storage("a PostgreSQL lock was held past the busy timeout (SQLSTATE 55P03)");
  if (state == "25006") throw Error::storage("the PostgreSQL database is read-only (SQLSTATE 25006)");
  if (state == "42501") throw Error::storage("the PostgreSQL role lacks a privilege (SQLSTATE 42501)");
  throw Error::storage("PostgreSQL failed (SQLSTATE " + state + ")");
}

Result Connection::exec(const char* sql) { return check(PQexec(connection_.get(), sql)); }

Result Connection::exec(const std::string& sql, const Params& params) {
  const auto values = params.values();
  const auto lengths = params.lengths();
  const auto formats = params.formats();
  return check(PQexecParams(connection_.get(), sql.c_str(), params.size(), nullptr, values.data(),
                            lengths.data(), formats.data(), /*resultFormat=*/0));
}

Result Connection::run(const Query& query, const Params& params) {
  if (prepared_.count(query.name) == 0) {
    check(PQprepare(connection_.get(), query.name, query.sql, 0, nullptr));
    prepared_.insert(query.name);
  }
  const auto values = params.values();
  const auto lengths = params.lengths();
  const auto formats = params.formats();
  return check(PQexecPrepared(connection_.get(), query.name, params.size(), values.data(), lengths.data(),
                              formats.data(), /*resultFormat=*/0));
}

std::vector<Result> Connection::run_after(const char* sql, const std::vector<Statement>& statements,
                                          const std::function<void()>& between) {
  pg_conn* const connection = connection_.get();
  const auto lost = [this] {
    // Whatever is still queued or unread, the connection is of no further
    // use: the pool drops it.
    broken_ = true;
    return Error::storage("the connection to the PostgreSQL server was lost");
  };
  if (PQenterPipelineMode(connection) != 1) throw lost();
  // Queued client-side, sent by the sync; the server answers each in turn
  // and, after a failure, skips the rest up to the sync (PIPELINE_ABORTED).
  // A statement not yet prepared on this connection is prepared first.
  std::vector<const Query*> preparing;  // per command: the query it prepares, or null
  bool queued = PQsendQueryParams(connection, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  preparing.push_back(nullptr);
  for (const Statement& statement : statements) {
    if (!queued) break;
    if (prepared_.count(statement.query.name) == 0) {
      queued = PQsendPrepare(connection, statement.query.name, statement.query.sql, 0, nullptr) == 1;
      preparing.push_back(&statement.query);
    }
    const auto values = statement.params.values();
    const auto lengths = statement.params.lengths();
    const auto formats = statement.params.formats();
    queued = queued && PQsendQueryPrepared(connection, statement.query.name, statement.params.size(), values.data(),
                                           lengths.data(), formats.data(), /*resultFormat=*/0) == 1;
    preparing.push_back(nullptr);
  }
  if (!queued || PQpipelineSync(connection) != 1) throw lost();
  // The sync has flushed everything to the server, which runs it while the
  // caller's work runs here.
  std::exception_ptr failed;
  if (between) {
    try {
      between();
    } catch (...) {
      failed = std::current_exception();
    }
  }

  // Every answer is read, up to the sync, before any is judged: only then
  // can the connection leave pipeline mode and be used again.
  std::vector<Result> answers;
  for (std::size_t command = 0; command < preparing.size(); ++command) {
    Result answer(PQgetResult(connection));
    if (!answer.result_) throw lost();
    // Each command's results end with a null.
    while (pg_result* extra = PQgetResult(connection)) PQclear(extra);
    answers.push_back(std::move(answer));
  }
  const Result sync(PQgetResult(connection));
  if (!sync.result_ || PQresultStatus(sync.result_.get()) != PGRES_PIPELINE_SYNC ||
      PQexitPipelineMode(connection) != 1) {
    throw lost();
  }
  // A prepared statement outlives a transaction that fails after it, and
  // whatever the caller's work threw.
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (preparing[i] != nullptr && PQresultStatus(answers[i].result_.get()) == PGRES_COMMAND_OK) {
      prepared_.insert(preparing[i]->name);
    }
  }
  if (failed) std::rethrow_exception(failed);

  std::vector<Result> rows;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    // A command skipped after an earlier failure: that failure is thrown.
    if (PQresultStatus(answers[i].result_.get()) == PGRES_PIPELINE_ABORTED) continue;
    answers[i] = check(answers[i].result_.release());
    if (preparing[i] == nullptr && i > 0) rows.push_back(std::move(answers[i]));
  }
  return rows;
}

// READ COMMITTED: a conditional UPDATE that finds its row locked waits for
// the other transaction, then evaluates its WHERE again on the row's latest
// version, so the loser of a race changes nothing rather than failing
// (docs/contract.md, Storage backends).
constexpr const char* kBegin = "BEGIN ISOLATION LEVEL READ COMMITTED";

Transaction::Transaction(Connection& connection, bool read_only) : connection_(connection) {
  connection_.exec(read_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : kBegin);
}

Transaction::Transaction(Connection& connection, const std::vector<Statement>& statements,
                         const std::function<void()>& between)
    : connection_(connection) {
  try {
    results_ = connection_.run_after(kBegin, statements, between);
  } catch (...) {
    // No destructor runs for a constructor that throws: a failed statement
    // leaves its transaction open (aborted), and it must not stay so.
    roll_back();
    throw;
  }
}

Transaction::~Transaction() {
  if (open_) roll_back();
}

void Transaction::roll_back() noexcept {
  open_ = false;
  // Nothing to roll back when BEGIN itself failed; a lost connection is
  // dropped by the pool as it is.
  if (!connection_.usable() || !connection_.in_transaction()) return;
  try {
    connection_.exec("ROLLBACK");
  } catch (const Error&) {
    // The connection is marked broken; the pool drops it.
  }
}

void Transaction::commit() {
  open_ = false;
  connection_.exec("COMMIT");
}

bool is_uri(std::string_view location) noexcept {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

}  // namespace clusteraccess::postgres
