// The library on PostgreSQL (PostgresStore), on a Unix socket with fsync on,
// next to its own ceilings measured with bare libpq in the same run:
//
//   pg/floor/point_select    no library code: one prepared SELECT of a cluster
//                            row by primary key, one round trip
//   pg/ceiling/commit        no library code: BEGIN; a 1-row conditional
//                            UPDATE; COMMIT -- a durable commit of the SQLite
//                            ceiling's shape (random bytea key, a unique
//                            serial written: non-HOT, index entries)
//   pg/ceiling/light_commit  the same on a bigint key setting an unindexed
//                            column (a HOT update): shown, not a target
//   pg/repeat/<path>         Registry::try_access_info on a registry in the
//                            database: ["Downloaded"], 400, 403 (unknown token,
//                            no grant)
//   pg/issue                 first downloads (key, certificate, manifest, the
//                            durable commit), interleaved op by op with the
//                            bare commit (ceiling_update_* counters); the
//                            write-ahead log bytes of each (wal_bytes_*)
//   pg/issue_clients/registries:R/threads:T
//                            first downloads by T threads spread over R
//                            Registry objects, each with its own connection
//                            pool (as R replicas are to the database)
//
// --uri=URI names a database the bench may create a schema in (dropped at
// the end); --clusters=N the registry's size.
#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <clusteraccess/clusteraccess.hpp>

#include "bench_support.hpp"

namespace {

namespace ca = clusteraccess;
using clusteraccess::bench::Latencies;

struct Options {
  std::string uri;
  std::string workdir = "/tmp";
  long clusters = 1000;
  long issue_iterations = 200;
};
Options g_options;

// ---- bare libpq ----------------------------------------------------------------

struct PgFinish {
  void operator()(PGconn* connection) const noexcept { PQfinish(connection); }
};
struct PgClear {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using Connection = std::unique_ptr<PGconn, PgFinish>;
using Result = std::unique_ptr<PGresult, PgClear>;

Connection connect(const std::string& uri) {
  Connection connection(PQconnectdb(uri.c_str()));
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("connect: ") + PQerrorMessage(connection.get()));
  }
  return connection;
}

Result check(PGconn* connection, PGresult* raw, const char* what) {
  Result result(raw);
  const auto status = PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(std::string(what) + ": " + PQerrorMessage(connection));
  }
  return result;
}

std::string with_parameter(const std::string& uri, const std::string& parameter) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + parameter;
}

// ---- the workload ------------------------------------------------------------------

struct Workload {
  std::string schema;
  std::string uri;  // the registry's: the schema through search_path
  std::unique_ptr<ca::Registry> registry;
  std::vector<ca::ClusterId> downloaded_ids;
  std::vector<ca::AccessRequest> downloaded, bad_id, bad_token, no_grant, fresh;
  std::atomic<std::size_t> next_fresh{0};

  ~Workload() {
    if (schema.empty()) return;
    try {
      auto admin = connect(g_options.uri);
      check(admin.get(), PQexec(admin.get(), ("SET client_min_messages = warning; DROP SCHEMA " + schema +
                                               " CASCADE").c_str()),
            "drop schema");
    } catch (const std::exception& e) {
      std::cerr << "postgres_bench: " << e.what() << '\n';
    }
  }
};

std::unique_ptr<Workload> g_workload;

Workload& workload() {
  if (g_workload) return *g_workload;
  auto w = std::make_unique<Workload>();
  std::mt19937_64 random{42};
  w->schema = "bench_" + std::to_string(random() % 1000000000ULL) + std::to_string(::getpid());
  {
    auto admin = connect(g_options.uri);
    check(admin.get(), PQexec(admin.get(), ("CREATE SCHEMA " + w->schema).c_str()), "create schema");
  }
  w->uri = with_parameter(g_options.uri, "options=-csearch_path%3D" + w->schema);
  ca::RegistryOptions options;
  options.master_key_file = g_options.workdir + "/" + w->schema + ".key";
  w->registry = std::make_unique<ca::Registry>(w->uri, options);
  auto& r = *w->registry;
  r.set_public_endpoint("proxy.example.com", 443);
  const std::string alice = r.create_token("alice", std::chrono::hours(24));
  const std::string bob = r.create_token("bob", std::chrono::hours(24));
  std::vector<ca::ClusterId> ids;
  for (long i = 0; i < g_options.clusters; ++i) {
    ca::ClusterSpec spec;
    spec.name = "bench-" + std::to_string(i);
    spec.provider = "eks";
    ids.push_back(r.register_cluster(spec));
    r.grant("alice", ids.back());
  }
  // A tenth downloaded: the repeat paths' clusters.
  const std::size_t downloaded = std::max<std::size_t>(1, ids.size() / 10);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ca::AccessRequest request{ids[i].str(), alice, std::nullopt, std::nullopt};
    if (i < downloaded) {
      r.access_info(request);
      w->downloaded_ids.push_back(ids[i]);
      w->downloaded.push_back(request);
      w->bad_id.push_back({ids[i].str() + "x", alice, std::nullopt, std::nullopt});
      w->bad_token.push_back({ids[i].str(), "cat_unknown" + std::to_string(i), std::nullopt, std::nullopt});
      w->no_grant.push_back({ids[i].str(), bob, std::nullopt, std::nullopt});
    } else {
      w->fresh.push_back(request);
    }
  }
  std::shuffle(w->fresh.begin(), w->fresh.end(), random);
  g_workload = std::move(w);
  return *g_workload;
}

// ---- ceilings ------------------------------------------------------------------------

// One prepared point SELECT of a downloaded cluster's row, one round trip.
class BarePointSelect {
 public:
  explicit BarePointSelect(const Workload& w) : connection_(connect(w.uri)), ids_(w.downloaded_ids) {
    check(connection_.get(),
          PQprepare(connection_.get(), "point", "SELECT downloaded_at, generation FROM clusters WHERE id = $1", 1,
                    nullptr),
          "prepare");
  }
  void run() {
    const auto bytes = ids_[next_++ % ids_.size()].bytes();
    const char* values[] = {reinterpret_cast<const char*>(bytes.data())};
    const int lengths[] = {static_cast<int>(bytes.size())};
    const int formats[] = {1};
    const Result result = check(connection_.get(),
                                PQexecPrepared(connection_.get(), "point", 1, values, lengths, formats, 0),
                                "point select");
    if (PQntuples(result.get()) != 1) throw std::runtime_error("point select: no row");
  }

 private:
  Connection connection_;
  std::vector<ca::ClusterId> ids_;
  std::size_t next_ = 0;
};

// The server's write-ahead log position, in bytes: the difference between
// two readings is what the operations in between wrote to the log.
double wal_position(PGconn* connection) {
  const Result result = check(connection, PQexec(connection, "SELECT pg_current_wal_lsn() - '0/0'"), "wal position");
  return std::atof(PQgetvalue(result.get(), 0, 0));
}

// BEGIN; the prepared statement "mark" changing exactly one row; COMMIT:
// one durable transaction of a ceiling, three round trips.
void durable_update(PGconn* connection, int count, const char* const* values, const int* lengths,
                    const int* formats, const char* what) {
  check(connection, PQexec(connection, "BEGIN"), "BEGIN");
  const Result result = check(connection, PQexecPrepared(connection, "mark", count, values, lengths, formats, 0), what);
  if (std::string(PQcmdTuples(result.get())) != "1") throw std::runtime_error(std::string(what) + ": no row changed");
  check(connection, PQexec(connection, "COMMIT"), "COMMIT");
}

// BEGIN; UPDATE of one fresh row WHERE it is not yet marked; COMMIT: a
// durable commit, bare, of the shape of SQLite's ceiling (bench_support.hpp,
// BareDurableUpdate) and of a download's mark: a random 16-byte key, a
// unique serial written, so each UPDATE is non-HOT and writes index entries;
// rows are updated in an order unrelated to the heap's, as downloads come.
class BareCommit {
 public:
  BareCommit(const Workload& w, long rows) : connection_(connect(w.uri)), ids_(static_cast<std::size_t>(rows)) {
    exec("DROP TABLE IF EXISTS ceiling");
    exec("CREATE TABLE ceiling (id bytea PRIMARY KEY, downloaded_at bigint, certificate_serial text UNIQUE)");
    std::mt19937_64 random(static_cast<std::uint64_t>(rows));
    for (auto& id : ids_) {
      for (auto& byte : id) byte = static_cast<char>(random());
    }
    exec("BEGIN");
    check(connection_.get(), PQprepare(connection_.get(), "fill", "INSERT INTO ceiling (id) VALUES ($1)", 1, nullptr),
          "prepare");
    for (const auto& id : ids_) {
      const char* values[] = {id.data()};
      const int lengths[] = {static_cast<int>(id.size())};
      const int formats[] = {1};
      check(connection_.get(), PQexecPrepared(connection_.get(), "fill", 1, values, lengths, formats, 0), "fill");
    }
    exec("COMMIT");
    exec("VACUUM ANALYZE ceiling");
    std::shuffle(ids_.begin(), ids_.end(), random);
    check(connection_.get(),
          PQprepare(connection_.get(), "mark",
                    "UPDATE ceiling SET downloaded_at = $1, certificate_serial = $2 "
                    "WHERE id = $3 AND downloaded_at IS NULL",
                    3, nullptr),
          "prepare");
  }
  void run() {
    if (next_ == ids_.size()) throw std::runtime_error("bare commit: no fresh row left");
    const auto& id = ids_[next_++];
    char serial[33];
    std::snprintf(serial, sizeof serial, "%032zx", next_);
    const char* values[] = {"1700000000", serial, id.data()};
    const int lengths[] = {0, 0, static_cast<int>(id.size())};
    const int formats[] = {0, 0, 1};
    durable_update(connection_.get(), 3, values, lengths, formats, "bare commit");
  }
  PGconn* connection() const { return connection_.get(); }

 private:
  void exec(const char* sql) { check(connection_.get(), PQexec(connection_.get(), sql), sql); }
  Connection connection_;
  std::vector<std::array<char, 16>> ids_;
  std::size_t next_ = 0;
};

// The former ceiling, kept to show the difference: BEGIN; UPDATE of one
// fresh row of a bigint key, sequential, setting an unindexed column (a HOT
// update, mostly on the same heap page, no index entry); COMMIT.
class LightCommit {
 public:
  LightCommit(const Workload& w, long rows) : connection_(connect(w.uri)) {
    exec("DROP TABLE IF EXISTS light_ceiling");
    exec("CREATE TABLE light_ceiling (id bigint PRIMARY KEY, value bigint)");
    exec(("INSERT INTO light_ceiling SELECT g, NULL FROM generate_series(1, " + std::to_string(rows) + ") AS g")
             .c_str());
    check(connection_.get(),
          PQprepare(connection_.get(), "mark", "UPDATE light_ceiling SET value = $2 WHERE id = $1 AND value IS NULL",
                    2, nullptr),
          "prepare");
  }
  void run() {
    const std::string id = std::to_string(++next_);
    const char* values[] = {id.c_str(), id.c_str()};
    durable_update(connection_.get(), 2, values, nullptr, nullptr, "light commit");
  }
  PGconn* connection() const { return connection_.get(); }

 private:
  void exec(const char* sql) { check(connection_.get(), PQexec(connection_.get(), sql), sql); }
  Connection connection_;
  long next_ = 0;
};

// ---- benchmarks ------------------------------------------------------------------------

void BM_PointSelectFloor(benchmark::State& state) {
  BarePointSelect select(workload());
  Latencies latencies(state);
  for (auto _ : state) latencies.time([&] { select.run(); });
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

template <typename Commit>
void BM_Commit(benchmark::State& state) {
  Commit commit(workload(), static_cast<long>(state.max_iterations) + 1);
  Latencies latencies(state);
  const double wal_before = wal_position(commit.connection());
  for (auto _ : state) latencies.time([&] { commit.run(); });
  const double wal_bytes = wal_position(commit.connection()) - wal_before;
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
  state.counters["wal_bytes_per_op"] = wal_bytes / static_cast<double>(state.iterations());
}

enum class Path { kDownloaded, kBadId, kBadToken, kNoGrant };

// Each request is followed by one bare point SELECT (the floor), timed
// apart: the ratio of the two is taken over the same seconds, so that the
// machine's load, which moves a round trip's time by tens of percent from
// one second to the next, weighs on both alike. The iteration's time is the
// request's alone.
void BM_Repeat(benchmark::State& state, Path path) {
  Workload& w = workload();
  const auto& requests = path == Path::kDownloaded ? w.downloaded
                         : path == Path::kBadId    ? w.bad_id
                         : path == Path::kBadToken ? w.bad_token
                                                   : w.no_grant;
  BarePointSelect floor(w);
  Latencies latencies(state);
  Latencies floor_latencies(state);
  std::size_t next = 0;
  long wrong = 0;
  for (auto _ : state) {
    state.SetIterationTime(latencies.time([&] {
      auto answer = w.registry->try_access_info(requests[next++ % requests.size()]);
      if ((path == Path::kDownloaded) != std::holds_alternative<ca::AccessInfo>(answer)) ++wrong;
      benchmark::DoNotOptimize(answer);
    }));
    floor_latencies.time([&] { floor.run(); });
  }
  if (wrong != 0) state.SkipWithError("a request got the wrong answer");
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
  floor_latencies.report(state, "floor_");
}

const ca::AccessRequest* next_fresh(Workload& w) {
  const std::size_t index = w.next_fresh++;
  return index < w.fresh.size() ? &w.fresh[index] : nullptr;
}

void BM_Issue(benchmark::State& state) {
  Workload& w = workload();
  const auto iterations = static_cast<std::size_t>(state.max_iterations);
  BareCommit ceiling(w, static_cast<long>(iterations) + 1);
  Latencies latencies(state);
  Latencies ceiling_latencies(iterations);
  clusteraccess::bench::CpuTime cpu;
  // The log position is read between the operations, outside their timing:
  // what each wrote to the write-ahead log.
  double download_wal = 0, ceiling_wal = 0;
  for (auto _ : state) {
    const ca::AccessRequest* request = next_fresh(w);
    if (request == nullptr) {
      state.SkipWithError("ran out of clusters not yet downloaded");
      break;
    }
    const double before = wal_position(ceiling.connection());
    cpu.time([&] {
      state.SetIterationTime(latencies.time([&] {
        if (!w.registry->access_info(*request).is_first_download()) throw std::runtime_error("not a first download");
      }));
    });
    const double between = wal_position(ceiling.connection());
    ceiling_latencies.time([&] { ceiling.run(); });
    ceiling_wal += wal_position(ceiling.connection()) - between;
    download_wal += between - before;
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
  cpu.report(state);
  ceiling_latencies.report(state, "ceiling_update_");
  state.counters["wal_bytes_per_download"] = download_wal / static_cast<double>(state.iterations());
  state.counters["ceiling_wal_bytes_per_op"] = ceiling_wal / static_cast<double>(state.iterations());
}

// Registries of BM_IssueClients: the first is the workload's; the others
// open the same database anew (their own pools).
std::vector<std::unique_ptr<ca::Registry>> g_replicas;

void BM_IssueClients(benchmark::State& state, int registries) {
  Workload& w = workload();
  if (state.thread_index() == 0) {
    while (static_cast<int>(g_replicas.size()) < registries - 1) {
      ca::RegistryOptions options;
      options.master_key_file = g_options.workdir + "/" + w.schema + ".key";
      g_replicas.push_back(std::make_unique<ca::Registry>(w.uri, options));
    }
  }
  Latencies latencies(state);
  for (auto _ : state) {
    const int which = state.thread_index() % registries;
    ca::Registry& registry = which == 0 ? *w.registry : *g_replicas[static_cast<std::size_t>(which - 1)];
    const ca::AccessRequest* request = next_fresh(w);
    if (request == nullptr) {
      state.SkipWithError("ran out of clusters not yet downloaded");
      break;
    }
    latencies.time([&] {
      if (!registry.access_info(*request).is_first_download()) throw std::runtime_error("not a first download");
    });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state, "", benchmark::Counter::kAvgThreads);
}

}  // namespace

int main(int argc, char** argv) {
  clusteraccess::bench::initialize(
      argc, argv,
      {{"--uri", [](const std::string& value) { g_options.uri = value; }},
       {"--workdir", [](const std::string& value) { g_options.workdir = value; }},
       {"--clusters", [](const std::string& value) { g_options.clusters = std::atol(value.c_str()); }},
       {"--issue-iterations", [](const std::string& value) { g_options.issue_iterations = std::atol(value.c_str()); }}});
  if (g_options.uri.empty()) {
    std::cerr << "postgres_bench: --uri=postgresql://... is required\n";
    return 2;
  }
  benchmark::RegisterBenchmark("pg/issue", BM_Issue)
      ->Iterations(g_options.issue_iterations)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  for (const int registries : {1, 2}) {
    benchmark::RegisterBenchmark(("pg/issue_clients/registries:" + std::to_string(registries)).c_str(),
                                 BM_IssueClients, registries)
        ->Threads(8 * registries)
        ->Iterations(std::max<long>(1, g_options.issue_iterations / 8))
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  // Wall time: a round trip waits for the server, which the client's CPU
  // time leaves out.
  benchmark::RegisterBenchmark("pg/floor/point_select", BM_PointSelectFloor)->UseRealTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("pg/ceiling/commit", BM_Commit<BareCommit>)
      ->Iterations(g_options.issue_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("pg/ceiling/light_commit", BM_Commit<LightCommit>)
      ->Iterations(g_options.issue_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  const std::pair<const char*, Path> paths[] = {{"pg/repeat/downloaded", Path::kDownloaded},
                                                {"pg/repeat/bad_id", Path::kBadId},
                                                {"pg/repeat/bad_token", Path::kBadToken},
                                                {"pg/repeat/no_grant", Path::kNoGrant}};
  for (const auto& [name, path] : paths) {
    benchmark::RegisterBenchmark(name, BM_Repeat, path)->UseManualTime()->Unit(benchmark::kMicrosecond);
  }
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::cerr << "postgres_bench: " << e.what() << '\n';
    return 1;
  }
  benchmark::Shutdown();
  g_replicas.clear();
  g_workload.reset();
  return 0;
}
