// Shared by the C++ benchmark programs.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
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

// The storage ceiling of a download, with no clusteraccess code: one
// single-row conditional UPDATE per durable transaction (BEGIN IMMEDIATE;
// UPDATE ... WHERE id = ? AND downloaded_at IS NULL; COMMIT) on its own WAL
// database with synchronous=FULL, on a table shaped like the registry's
// clusters table. Each operation takes a fresh row: an UPDATE that changes
// nothing commits without writing (and without an fsync).
class BareDurableUpdate {
 public:
  BareDurableUpdate(std::string path, std::size_t rows) : path_(std::move(path)) {
    remove_files();
    check(sqlite3_open(path_.c_str(), &db_), "open");
    exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    exec("CREATE TABLE clusters (id BLOB PRIMARY KEY, downloaded_at INTEGER, "
         "certificate_serial TEXT UNIQUE) WITHOUT ROWID");
    std::mt19937_64 random(rows);
    ids_.resize(rows);
    exec("BEGIN");
    sqlite3_stmt* insert = prepare("INSERT INTO clusters (id) VALUES (?1)");
    for (auto& id : ids_) {
      for (auto& byte : id) byte = static_cast<unsigned char>(random());
      sqlite3_bind_blob(insert, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      step(insert);
    }
    sqlite3_finalize(insert);
    exec("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
    begin_ = prepare("BEGIN IMMEDIATE");
    update_ = prepare("UPDATE clusters SET downloaded_at = ?1, certificate_serial = ?2 "
                      "WHERE id = ?3 AND downloaded_at IS NULL");
    commit_ = prepare("COMMIT");
  }
  ~BareDurableUpdate() {
    sqlite3_finalize(begin_);
    sqlite3_finalize(update_);
    sqlite3_finalize(commit_);
    sqlite3_close(db_);
    remove_files();
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
    step(begin_);
    sqlite3_bind_int64(update_, 1, 1700000000);
    sqlite3_bind_text(update_, 2, serial, 32, SQLITE_STATIC);
    sqlite3_bind_blob(update_, 3, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    step(update_);
    if (sqlite3_changes(db_) != 1) throw std::runtime_error("the UPDATE changed no row");
    step(commit_);
  }

 private:
  void check(int rc, const char* what) const {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
      throw std::runtime_error(std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
    }
  }
  void exec(const char* sql) { check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), sql); }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* statement = nullptr;
    check(sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr), sql);
    return statement;
  }
  void step(sqlite3_stmt* statement) {
    const int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    check(rc, "step");
  }
  void remove_files() const {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  std::vector<std::array<unsigned char, 16>> ids_;
  std::size_t next_ = 0;
};

}  // namespace clusteraccess::bench
