// The cluster API through the public C++ API (docs/contract.md, Cluster API
// and Lifecycle), on registries of 1 thousand and 1 million clusters:
//
//   show/N        Registry::show_cluster of a granted cluster (what GET
//                 /v1/clusters/{clusterid} asks of the core)
//   list/N        Registry::list_clusters, a page of 100 at a random offset
//                 (GET /v1/clusters?limit=100&offset=...)
//   lifecycle/N   op by op, interleaved: an activation followed by the
//                 cluster's new first download (activation_*), and a first
//                 download of a fresh cluster followed by one bare durable
//                 SQLite commit (first_plus_commit_*), at the smallest N only
//
// In each registry the caller, "carol", holds grants on 1,000 clusters spread
// over the whole id space, whatever the registry's size: the list's work
// follows the caller's grants, so its figure at 1M should be that at 1K.
// The registry is made by the library (schema, CA, settings, token) and its
// clusters seeded with raw SQLite in one bulk transaction.
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <clusteraccess/clusteraccess.hpp>

#include "bench_support.hpp"

namespace {

namespace ca = clusteraccess;
using clusteraccess::bench::Db;
using clusteraccess::bench::Latencies;
using clusteraccess::bench::Stmt;

// Clusters the caller holds a grant on, at every scale.
constexpr long kGranted = 1000;
// Of those, the ones the lifecycle benchmark activates again and again; the
// rest are its fresh first downloads.
constexpr std::size_t kActivated = 100;
constexpr std::int64_t kPage = 100;

struct Options {
  std::string workdir = "/tmp";
  std::vector<long> scales = {1000, 1000000};
  benchmark::IterationCount lifecycle_iterations = 300;
};
Options g_options;

struct Workload {
  std::string path;
  std::unique_ptr<ca::Registry> registry;
  ca::Credentials carol;
  std::vector<std::string> granted;  // shuffled
};
std::map<long, Workload> g_workloads;

// N clusters, every (N / kGranted)-th granted to carol.
std::vector<std::string> seed(const std::string& path, long clusters) {
  std::mt19937_64 random(static_cast<std::uint64_t>(clusters) + 7);
  std::vector<std::array<std::uint8_t, 16>> raw(static_cast<std::size_t>(clusters));
  for (auto& id : raw) {
    for (auto& byte : id) byte = static_cast<std::uint8_t>(random());
    id[6] = static_cast<std::uint8_t>((id[6] & 0x0f) | 0x40);
    id[8] = static_cast<std::uint8_t>((id[8] & 0x3f) | 0x80);
  }
  std::sort(raw.begin(), raw.end());  // appends to every index
  const Db db(path);
  db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; BEGIN");
  const auto now = static_cast<long long>(std::time(nullptr));
  std::vector<std::string> granted;
  {
    const Stmt cluster(db,
                       "INSERT INTO clusters (id, name, category, provider, type, network, created_at, updated_at) "
                       "VALUES (?1, ?2, 'attachedcluster', 'aws', 'eks', 'public', ?3, ?3)");
    const Stmt grant(db, "INSERT INTO grants (principal, cluster_id) VALUES ('carol', ?1)");
    const long stride = std::max(1L, clusters / kGranted);
    char name[32];
    for (long i = 0; i < clusters; ++i) {
      const auto& id = raw[static_cast<std::size_t>(i)];
      std::snprintf(name, sizeof name, "api-%08ld", i);
      sqlite3_bind_blob(cluster.get(), 1, id.data(), 16, SQLITE_STATIC);
      sqlite3_bind_text(cluster.get(), 2, name, -1, SQLITE_STATIC);
      sqlite3_bind_int64(cluster.get(), 3, now);
      cluster.run();
      if (i % stride == 0 && static_cast<long>(granted.size()) < kGranted) {
        sqlite3_bind_blob(grant.get(), 1, id.data(), 16, SQLITE_STATIC);
        grant.run();
        granted.push_back(ca::ClusterId::from_bytes(id).str());
      }
    }
  }
  db.exec("COMMIT; PRAGMA journal_mode = WAL");
  std::shuffle(granted.begin(), granted.end(), random);
  return granted;
}

Workload& workload(long clusters) {
  auto found = g_workloads.find(clusters);
  if (found != g_workloads.end()) return found->second;
  Workload& w = g_workloads[clusters];
  w.path = g_options.workdir + "/cluster-api-" + std::to_string(clusters) + ".db";
  clusteraccess::bench::remove_database(w.path);
  std::string token;
  {
    ca::Registry registry(w.path);  // schema, CA, settings, the principal
    registry.set_public_endpoint("proxy.example.com", 30123);
    token = registry.create_token("carol", std::chrono::hours(24 * 30));
  }
  w.granted = seed(w.path, clusters);
  w.registry = std::make_unique<ca::Registry>(w.path);
  w.carol = ca::Credentials{token};
  return w;
}

void BM_Show(benchmark::State& state, long clusters) {
  Workload& w = workload(clusters);
  Latencies latencies(state);
  std::size_t next = 0;
  for (auto _ : state) {
    const std::string& id = w.granted[next++ % w.granted.size()];
    latencies.time([&] { benchmark::DoNotOptimize(w.registry->show_cluster(w.carol, id)); });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

void BM_List(benchmark::State& state, long clusters) {
  Workload& w = workload(clusters);
  Latencies latencies(state);
  std::mt19937 random(1);
  for (auto _ : state) {
    const std::int64_t offset = kPage * static_cast<std::int64_t>(random() % (kGranted / kPage));
    latencies.time([&] {
      const auto page = w.registry->list_clusters(w.carol, kPage, offset);
      if (page.items.size() != static_cast<std::size_t>(kPage)) state.SkipWithError("short page");
    });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

// Interleaved op by op, so that both see the same disk and the same WAL.
void BM_Lifecycle(benchmark::State& state, long clusters) {
  Workload& w = workload(clusters);
  const auto token = w.carol.token;
  auto download = [&](const std::string& id) {
    const auto info = w.registry->access_info({id, token, std::nullopt, std::nullopt});
    if (!info.is_first_download()) throw std::runtime_error("not a first download");
  };
  for (std::size_t i = 0; i < kActivated; ++i) download(w.granted[i]);  // each downloaded once, untimed
  clusteraccess::bench::BareDurableUpdate commit(g_options.workdir + "/cluster-api-commit.db",
                                                 static_cast<std::size_t>(state.max_iterations));
  Latencies activation(state);
  Latencies first_plus_commit(state);
  std::size_t next = 0;
  std::size_t fresh = kActivated;
  double seconds = 0;
  for (auto _ : state) {
    if (fresh == w.granted.size()) {
      state.SkipWithError("no fresh cluster left");
      break;
    }
    const std::string& again = w.granted[next++ % kActivated];
    seconds += activation.time([&] {
      w.registry->reactivate(w.carol, again);
      download(again);
    });
    seconds += first_plus_commit.time([&] {
      download(w.granted[fresh++]);
      commit.run();
    });
  }
  state.SetIterationTime(seconds);
  activation.report(state, "activation_");
  first_plus_commit.report(state, "first_plus_commit_");
}

}  // namespace

int main(int argc, char** argv) {
  clusteraccess::bench::initialize(
      argc, argv,
      {{"--workdir", [](const std::string& value) { g_options.workdir = value; }},
       {"--scales", [](const std::string& value) { g_options.scales = clusteraccess::bench::parse_scales(value); }},
       {"--lifecycle-iterations",
        [](const std::string& value) { g_options.lifecycle_iterations = std::atoll(value.c_str()); }}});
  for (const long n : g_options.scales) {
    const std::string suffix = "/" + std::to_string(n);
    if (n == g_options.scales.front()) {
      benchmark::RegisterBenchmark(("lifecycle" + suffix).c_str(), BM_Lifecycle, n)
          ->Iterations(std::min<benchmark::IterationCount>(g_options.lifecycle_iterations,
                                                           kGranted - static_cast<long>(kActivated)))
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("show" + suffix).c_str(), BM_Show, n)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("list" + suffix).c_str(), BM_List, n)->Unit(benchmark::kMicrosecond);
  }
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::cerr << "cluster_api_bench: " << e.what() << '\n';
    return 1;
  }
  benchmark::Shutdown();
  g_workloads.clear();
  return 0;
}
