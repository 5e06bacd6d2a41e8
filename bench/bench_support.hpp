// Shared by the C++ benchmark programs.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace clusteraccess::bench {

// Per-operation latency samples. Every benchmark loop times each operation
// with the steady clock (a vDSO call, ~20 ns) and reports mean/p50/p99 in
// microseconds next to Google Benchmark's own throughput figure.
class Latencies {
 public:
  explicit Latencies(const benchmark::State& state)
      : Latencies(static_cast<std::size_t>(
            std::min<benchmark::IterationCount>(state.max_iterations, 1 << 24))) {}
  explicit Latencies(std::size_t capacity) { samples_.reserve(capacity); }

  // Times `operation`, keeps the sample and returns it (seconds).
  template <typename Operation>
  double time(Operation&& operation) {
    const auto start = std::chrono::steady_clock::now();
    operation();
    const auto end = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(end - start).count();
    if (samples_.size() < samples_.capacity()) samples_.push_back(seconds * 1e6);
    return seconds;
  }

  // Sets the <prefix>mean_us/p50_us/p99_us counters (kAvgThreads: the
  // average over the threads of a multi-threaded benchmark).
  void report(benchmark::State& state, const std::string& prefix = "",
              benchmark::Counter::Flags flags = benchmark::Counter::kDefaults) {
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    double sum = 0;
    for (const double sample : samples_) sum += sample;
    const double mean = sum / static_cast<double>(samples_.size());
    state.counters[prefix + "mean_us"] = benchmark::Counter(mean, flags);
    state.counters[prefix + "p50_us"] = benchmark::Counter(percentile(0.50), flags);
    state.counters[prefix + "p99_us"] = benchmark::Counter(percentile(0.99), flags);
  }

 private:
  double percentile(double p) const {
    const auto index = static_cast<std::size_t>(p * static_cast<double>(samples_.size() - 1) + 0.5);
    return samples_[std::min(index, samples_.size() - 1)];
  }
  std::vector<double> samples_;
};

// CPU time (user + system) of the calling thread, for operations slow enough
// that a system call per sample does not matter (first downloads): a durable
// commit mostly waits for the disk, and what one core can sustain is set by
// the CPU time, not the wall time, of each operation.
class CpuTime {
 public:
  template <typename Operation>
  void time(Operation&& operation) {
    const double start = now();
    operation();
    total_ += now() - start;
    ++count_;
  }
  // Sets the <prefix>cpu_us counter: mean CPU microseconds per operation.
  void report(benchmark::State& state, const std::string& prefix = "") const {
    if (count_ > 0) state.counters[prefix + "cpu_us"] = total_ / static_cast<double>(count_);
  }

 private:
  static double now() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
  }
  double total_ = 0;
  long count_ = 0;
};

// ---- raw SQLite, with no clusteraccess code --------------------------------

inline void sqlite_check(int rc, sqlite3* db, const std::string& what) {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
    throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
}

// Removes a database file and its WAL and shared-memory files.
inline void remove_database(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
}

// One connection, closed when it goes.
class Db {
 public:
  explicit Db(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open(path.c_str(), &raw);
    db_.reset(raw);  // sqlite3_open hands out a handle even when it fails
    sqlite_check(rc, raw, "open " + path);
  }
  void exec(const std::string& sql) const {
    sqlite_check(sqlite3_exec(get(), sql.c_str(), nullptr, nullptr, nullptr), get(), sql);
  }
  sqlite3* get() const { return db_.get(); }

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
};

// One prepared statement, finalized when it goes; run() steps it once and
// resets it, so that it can be bound and run again.
class Stmt {
 public:
  Stmt(const Db& db, const char* sql) : db_(db.get()) {
    sqlite3_stmt* raw = nullptr;
    sqlite_check(sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr), db_, sql);
    statement_.reset(raw);
  }
  sqlite3_stmt* get() const { return statement_.get(); }
  // Returns the step's result code (SQLITE_ROW or SQLITE_DONE).
  int run() const {
    const int rc = sqlite3_step(get());
    sqlite3_reset(get());
    sqlite_check(rc, db_, "step");
    return rc;
  }

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
  };
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalize> statement_;
};

// The storage ceiling of a download, with no clusteraccess code: one
// single-row conditional UPDATE per durable transaction (BEGIN IMMEDIATE;
// UPDATE ... WHERE id = ? AND downloaded_at IS NULL; COMMIT) on its own WAL
// database with synchronous=FULL, on a table shaped like the registry's
// clusters table. Each operation takes a fresh row: an UPDATE that changes
// nothing commits without writing (and without an fsync).
class BareDurableUpdate {
 public:
  BareDurableUpdate(std::string path, std::size_t rows) : path_(std::move(path)), ids_(rows) {
    remove_database(path_);
    db_ = std::make_unique<Db>(path_);
    db_->exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    db_->exec("CREATE TABLE clusters (id BLOB PRIMARY KEY, downloaded_at INTEGER, "
              "certificate_serial TEXT UNIQUE) WITHOUT ROWID");
    std::mt19937_64 random(rows);
    db_->exec("BEGIN");
    {
      const Stmt insert(*db_, "INSERT INTO clusters (id) VALUES (?1)");
      for (auto& id : ids_) {
        for (auto& byte : id) byte = static_cast<unsigned char>(random());
        sqlite3_bind_blob(insert.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
        insert.run();
      }
    }
    db_->exec("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
    begin_ = std::make_unique<Stmt>(*db_, "BEGIN IMMEDIATE");
    update_ = std::make_unique<Stmt>(*db_, "UPDATE clusters SET downloaded_at = ?1, certificate_serial = ?2 "
                                           "WHERE id = ?3 AND downloaded_at IS NULL");
    commit_ = std::make_unique<Stmt>(*db_, "COMMIT");
  }
  ~BareDurableUpdate() {
    begin_.reset();
    update_.reset();
    commit_.reset();
    db_.reset();
    remove_database(path_);
  }
  BareDurableUpdate(const BareDurableUpdate&) = delete;
  BareDurableUpdate& operator=(const BareDurableUpdate&) = delete;

  bool exhausted() const { return next_ == ids_.size(); }

  // One durable transaction.
  void run() {
    if (exhausted()) throw std::runtime_error("no fresh row left");
    const auto& id = ids_[next_++];
    char serial[33];
    std::snprintf(serial, sizeof serial, "%032zx", next_);
    begin_->run();
    sqlite3_bind_int64(update_->get(), 1, 1700000000);
    sqlite3_bind_text(update_->get(), 2, serial, 32, SQLITE_STATIC);
    sqlite3_bind_blob(update_->get(), 3, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    update_->run();
    if (sqlite3_changes(db_->get()) != 1) throw std::runtime_error("the UPDATE changed no row");
    commit_->run();
  }

 private:
  std::string path_;
  std::vector<std::array<unsigned char, 16>> ids_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<Stmt> begin_;
  std::unique_ptr<Stmt> update_;
  std::unique_ptr<Stmt> commit_;
  std::size_t next_ = 0;
};

// The floor of a repeat request, with no clusteraccess code: one point SELECT
// of a cluster row by its primary key in a read transaction of its own
// (BEGIN; SELECT ... WHERE id = ?; COMMIT), prepared once, on a connection of
// its own to a registry's file, read through a memory map as the library
// reads it. Every repeat request of the library takes at least this: its
// rules are judged from one read transaction.
class BarePointSelect {
 public:
  BarePointSelect(const std::string& path, std::vector<std::array<std::uint8_t, 16>> ids)
      : ids_(std::move(ids)), db_(path) {
    if (ids_.empty()) throw std::runtime_error("no cluster to select");
    db_.exec("PRAGMA mmap_size = 1073741824");
    begin_ = std::make_unique<Stmt>(db_, "BEGIN");
    select_ = std::make_unique<Stmt>(db_, "SELECT downloaded_at FROM clusters WHERE id = ?1");
    commit_ = std::make_unique<Stmt>(db_, "COMMIT");
  }

  // One read transaction, for the next id in turn; throws if the row is missing.
  void run() {
    const auto& id = ids_[next_++ % ids_.size()];
    begin_->run();
    sqlite3_bind_blob(select_->get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    const int rc = select_->run();
    commit_->run();
    if (rc != SQLITE_ROW) throw std::runtime_error("the SELECT found no row");
  }

 private:
  std::vector<std::array<std::uint8_t, 16>> ids_;
  Db db_;
  std::unique_ptr<Stmt> begin_;
  std::unique_ptr<Stmt> select_;
  std::unique_ptr<Stmt> commit_;
  std::size_t next_ = 0;
};

// ---- command line ------------------------------------------------------------

// A flag of a benchmark program's own, given as --name=value.
struct Flag {
  std::string name;  // with its dashes: "--workdir"
  std::function<void(const std::string& value)> take;
};

// The registry sizes of --scales=N,M,...
inline std::vector<long> parse_scales(const std::string& text) {
  std::vector<long> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find(',', start);
    out.push_back(std::atol(text.substr(start, end - start).c_str()));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// Takes the program's own flags out of argv and hands the rest to Google
// Benchmark (which rejects what it does not know).
inline void initialize(int argc, char** argv, const std::vector<Flag>& flags) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto flag = std::find_if(flags.begin(), flags.end(),
                                   [&](const Flag& f) { return arg.rfind(f.name + "=", 0) == 0; });
    if (flag == flags.end()) {
      rest.push_back(argv[i]);
    } else {
      flag->take(arg.substr(flag->name.size() + 1));
    }
  }
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(count, rest.data())) std::exit(2);
}

}  // namespace clusteraccess::bench
