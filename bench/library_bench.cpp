// The library through its public C++ API, on registries of 1 thousand and
// 1 million clusters:
//
//   floor/point_select/N  no library code: raw SQLite, BEGIN; SELECT of one
//                        cluster row by primary key; COMMIT -- what one
//                        repeat request must at least cost
//   repeat/downloaded/N  a granted, already downloaded cluster: ["Downloaded"]
//   repeat/downloaded_uniform/N  the same, over all downloaded clusters
//   repeat/bad_id/N      a valid token, a cluster id that is no k8s-uuid: 400
//   repeat/bad_token/N   an unknown token: 403
//   repeat/no_grant/N    a live token of a principal without a grant: 403
//   repeat/downloaded_signed/N  repeat/downloaded signed with an access key
//                        of alice (SDK-HMAC-SHA256, the headers the Python
//                        SDK signs) instead of a token: the same answer
//                        after the verifier's work
//                        (each also as .../try: through try_access_info,
//                        which returns the Error instead of throwing it)
//   issue/N              first downloads: key, certificate, manifest and the
//                        durable commit (WAL, synchronous=FULL), interleaved
//                        op by op with the bare SQLite ceiling (see BM_Issue)
//   issue_burst/N        first downloads by 8 threads at once on the one CPU
//                        (at the largest N only)
//
// Repeat requests are retries of a burst: 500 downloaded clusters spread over
// the whole id space (at 1M clusters they still sit in a large B-tree, deeper
// than at 1K), picked at random. repeat/downloaded_uniform/N picks among all
// downloaded clusters instead (half the registry): at 1M every request then
// walks cold leaf pages. The issue benchmark also measures the database bytes
// each download adds (db_bytes_per_download: file size after a TRUNCATE
// checkpoint, before and after, divided by the number of downloads; the file
// grows by whole pages, so this needs a few hundred downloads to mean much).
//
// A registry is made by the library (schema, CA, settings, tokens) and then
// seeded with raw SQLite in one bulk transaction: every other cluster is
// already downloaded (with its audit record), the rest are not; all are
// granted to the principal "alice".
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <clusteraccess/clusteraccess.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bench_support.hpp"

namespace {

namespace ca = clusteraccess;
using clusteraccess::bench::Latencies;

struct Options {
  std::string workdir = "/tmp";
  std::vector<long> scales = {1000, 1000000};
  benchmark::IterationCount issue_iterations = 300;
};
Options g_options;

// ---- raw SQLite, for seeding and measuring the file only -------------------

using clusteraccess::bench::Db;
using clusteraccess::bench::Stmt;

long long file_size(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<long long>(info.st_size) : 0;
}

// Folds the WAL into the database file and empties it, so that the file size
// is the size of the state. Throws if the checkpoint could not finish (a
// reader in the way): the size would then leave out what the WAL holds.
long long checkpointed_size(const std::string& path) {
  const Db db(path);
  clusteraccess::bench::sqlite_check(
      sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr), db.get(),
      "checkpoint " + path);
  return file_size(path);
}

// ---- the workload ------------------------------------------------------------

struct Workload {
  long clusters = 0;
  std::string path;
  std::unique_ptr<ca::Registry> registry;
  std::vector<ca::AccessRequest> downloaded;  // random sample of the burst, cycled through
  std::vector<std::array<std::uint8_t, 16>> downloaded_ids;  // the same clusters, for the floor
  std::vector<ca::AccessRequest> downloaded_uniform;  // random sample of all downloaded clusters
  std::vector<ca::AccessRequest> bad_id;
  std::vector<ca::AccessRequest> bad_token;
  std::vector<ca::AccessRequest> no_grant;
  std::vector<ca::AccessRequest> fresh;  // not yet downloaded, shuffled; used up once each
  ca::NewAccessKey alice_key;  // signs repeat/downloaded_signed
  std::atomic<std::size_t> next_fresh{0};
};

std::map<long, Workload> g_workloads;

// Clusters onboarded in one burst, whose retries the repeat paths are.
constexpr std::size_t kBurst = 500;
// Threads of BM_IssueBurst.
constexpr int kBurstThreads = 8;
// Requests prepared per path, cycled through.
constexpr std::size_t kSamples = 16384;

std::string serial_of(long index) {
  char text[33];
  std::snprintf(text, sizeof text, "%032lx", static_cast<unsigned long>(index));
  return text;
}

void seed(const std::string& path, long clusters, std::vector<ca::ClusterId>& ids) {
  std::mt19937_64 random(static_cast<std::uint64_t>(clusters));
  std::vector<std::array<std::uint8_t, 16>> raw(static_cast<std::size_t>(clusters));
  for (auto& id : raw) {
    for (auto& byte : id) byte = static_cast<std::uint8_t>(random());
    id[6] = static_cast<std::uint8_t>((id[6] & 0x0f) | 0x40);  // version 4
    id[8] = static_cast<std::uint8_t>((id[8] & 0x3f) | 0x80);  // variant
  }
  // Sorted, so that the bulk insert appends to every index.
  std::sort(raw.begin(), raw.end());

  const Db db(path);
  // Alone on the file: a rollback journal for the bulk load (new pages need
  // no journal), then back to WAL as the registry wants it.
  db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;");
  db.exec("BEGIN");
  const auto now = static_cast<long long>(std::time(nullptr));
  const Stmt cluster(db,
               "INSERT INTO clusters (id, name, category, provider, network, created_at, "
               "downloaded_at, certificate_serial) VALUES (?1, ?2, 'attachedcluster', 'eks', "
               "'public', ?3, ?4, ?5)");
  const Stmt grant(db, "INSERT INTO grants (principal, cluster_id) VALUES ('alice', ?1)");
  const Stmt download(db,
                "INSERT INTO downloads (cluster_id, principal, downloaded_at, certificate_serial, "
                "network) VALUES (?1, 'alice', ?2, ?3, 'public')");
  char name[32];
  for (long i = 0; i < clusters; ++i) {
    const auto& id = raw[static_cast<std::size_t>(i)];
    const bool downloaded = i % 2 == 0;
    const std::string serial = serial_of(i + 1);
    std::snprintf(name, sizeof name, "bench-%08ld", i);
    sqlite3_bind_blob(cluster.get(), 1, id.data(), 16, SQLITE_STATIC);
    sqlite3_bind_text(cluster.get(), 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(cluster.get(), 3, now);
    if (downloaded) {
      sqlite3_bind_int64(cluster.get(), 4, now);
      sqlite3_bind_text(cluster.get(), 5, serial.c_str(), -1, SQLITE_STATIC);
    } else {
      sqlite3_bind_null(cluster.get(), 4);
      sqlite3_bind_null(cluster.get(), 5);
    }
    cluster.run();
    sqlite3_bind_blob(grant.get(), 1, id.data(), 16, SQLITE_STATIC);
    grant.run();
    if (downloaded) {
      sqlite3_bind_blob(download.get(), 1, id.data(), 16, SQLITE_STATIC);
      sqlite3_bind_int64(download.get(), 2, now);
      sqlite3_bind_text(download.get(), 3, serial.c_str(), -1, SQLITE_STATIC);
      download.run();
    }
    ids.push_back(ca::ClusterId::from_bytes(id));
  }
  db.exec("COMMIT");
  db.exec("PRAGMA journal_mode = WAL");
}

std::mutex g_workloads_mutex;

Workload& workload(long clusters) {
  // Threads of a multi-threaded benchmark all ask; the first one seeds.
  std::lock_guard<std::mutex> lock(g_workloads_mutex);
  auto found = g_workloads.find(clusters);
  if (found != g_workloads.end()) return found->second;

  const auto started = std::chrono::steady_clock::now();
  Workload& w = g_workloads[clusters];
  w.clusters = clusters;
  w.path = g_options.workdir + "/registry-" + std::to_string(clusters) + ".db";
  clusteraccess::bench::remove_database(w.path);

  std::string alice;
  std::string mallory;
  {
    ca::Registry registry(w.path);  // schema, CA
    registry.set_public_endpoint("proxy.example.com", 30123);
    alice = registry.create_token("alice", std::chrono::hours(24 * 30));
    mallory = registry.create_token("mallory", std::chrono::hours(24 * 30));
    w.alice_key = registry.create_access_key("alice", std::chrono::hours(24 * 30));
  }
  std::vector<ca::ClusterId> ids;
  ids.reserve(static_cast<std::size_t>(clusters));
  seed(w.path, clusters, ids);
  w.registry = std::make_unique<ca::Registry>(w.path);

  std::mt19937_64 random(42);
  const auto request = [](const ca::ClusterId& id, const std::string& token) {
    return ca::AccessRequest{id.str(), token, std::nullopt, std::nullopt};
  };
  // The burst: kBurst downloaded clusters (every even one is), spread over the
  // whole id space; the repeat paths are retries of it. Also, for the
  // downloaded path, requests over all downloaded clusters (the cold case).
  std::vector<std::size_t> downloaded;
  for (std::size_t i = 0; i < ids.size(); i += 2) downloaded.push_back(i);
  std::shuffle(downloaded.begin(), downloaded.end(), random);
  const std::size_t burst = std::min(kBurst, downloaded.size());
  std::uniform_int_distribution<std::size_t> in_burst(0, burst - 1);
  std::uniform_int_distribution<std::size_t> any(0, downloaded.size() - 1);
  for (std::size_t i = 0; i < kSamples; ++i) {
    w.downloaded_uniform.push_back(request(ids[downloaded[any(random)]], alice));
    const std::size_t index = downloaded[in_burst(random)];
    w.downloaded.push_back(request(ids[index], alice));
    w.downloaded_ids.push_back(ids[index].bytes());
    w.no_grant.push_back(request(ids[index], mallory));
    w.bad_token.push_back(request(ids[index], "cat_" + std::string(43, static_cast<char>('A' + i % 26))));
    std::string upper = ids[index].str();
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    w.bad_id.push_back(ca::AccessRequest{upper, alice, std::nullopt, std::nullopt});
  }
  for (std::size_t i = 1; i < ids.size(); i += 2) w.fresh.push_back(request(ids[i], alice));
  std::shuffle(w.fresh.begin(), w.fresh.end(), random);

  // Sanity: each path answers what it should before it is timed.
  if (w.registry->access_info(w.downloaded.front()).is_first_download()) {
    throw std::runtime_error("a seeded downloaded cluster was downloaded again");
  }
  const auto expect = [&](const ca::AccessRequest& r, int status) {
    try {
      w.registry->access_info(r);
    } catch (const ca::Error& e) {
      if (e.http_status() == status) return;
      throw std::runtime_error("unexpected status " + std::to_string(e.http_status()));
    }
    throw std::runtime_error("expected an error");
  };
  expect(w.bad_id.front(), 400);
  expect(w.bad_token.front(), 403);
  expect(w.no_grant.front(), 403);

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "seeded " << clusters << " clusters in " << seconds << " s (" << file_size(w.path) / 1024
            << " KiB)\n";
  return w;
}

// ---- a client's signer (SDK-HMAC-SHA256), for repeat/downloaded_signed --------

std::string hex(const unsigned char* data, unsigned int size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xF]);
  }
  return out;
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return hex(digest, size);
}

// `request` (a token request of repeat/downloaded) as the Python SDK sends it,
// signed now: Content-Type, Host, User-Agent and X-Sdk-Date signed, no body.
// The path of a cluster id needs no percent-encoding.
ca::AccessRequest signed_request(const ca::AccessRequest& request, const ca::NewAccessKey& key) {
  char date[17];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
  const std::string path = "/v1/clusters/" + request.cluster_id + "/accessinfo";
  const std::string host = "ucs.example.com:8443";
  const std::string agent = "huaweicloud-usdk-python/3.0; os/Linux python/3.11.7 impl/CPython";
  const std::string canonical = "GET\n" + path + "/\n\ncontent-type:application/json\nhost:" + host +
                                "\nuser-agent:" + agent + "\nx-sdk-date:" + date +
                                "\n\ncontent-type;host;user-agent;x-sdk-date\n" + sha256_hex("");
  const std::string to_sign = std::string("SDK-HMAC-SHA256\n") + date + "\n" + sha256_hex(canonical);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.secret_key.data(), static_cast<int>(key.secret_key.size()),
       reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac, &size);
  ca::AccessRequest out{request.cluster_id, std::nullopt, std::nullopt, std::nullopt};
  out.signature = ca::SignedRequest{
      "GET",
      path,
      "",
      {{"Host", host},
       {"User-Agent", agent},
       {"Content-Type", "application/json"},
       {"X-Sdk-Date", date},
       {"Accept-Encoding", "gzip, deflate"},
       {"Accept", "*/*"},
       {"Connection", "keep-alive"},
       {"Authorization", "SDK-HMAC-SHA256 Access=" + key.access_key +
                             ", SignedHeaders=content-type;host;user-agent;x-sdk-date, Signature=" + hex(mac, size)}},
      std::nullopt};
  return out;
}

// ---- benchmarks ----------------------------------------------------------------

enum class Path { kDownloaded, kDownloadedUniform, kBadId, kBadToken, kNoGrant, kDownloadedSigned };

// `api`: Registry::access_info (throws the Error of a rejected request) or
// Registry::try_access_info (returns it).
enum class Api { kThrowing, kReturning };

void BM_Repeat(benchmark::State& state, long clusters, Path path, Api api) {
  Workload& w = workload(clusters);
  // Signed now, before the timing: X-Sdk-Date must be within 15 minutes.
  std::vector<ca::AccessRequest> signed_requests;
  if (path == Path::kDownloadedSigned) {
    for (const auto& request : w.downloaded) signed_requests.push_back(signed_request(request, w.alice_key));
  }
  const std::vector<ca::AccessRequest>& requests = path == Path::kDownloaded          ? w.downloaded
                                                   : path == Path::kDownloadedUniform ? w.downloaded_uniform
                                                   : path == Path::kBadId             ? w.bad_id
                                                   : path == Path::kBadToken          ? w.bad_token
                                                   : path == Path::kDownloadedSigned  ? signed_requests
                                                                                      : w.no_grant;
  const bool succeeds =
      path == Path::kDownloaded || path == Path::kDownloadedUniform || path == Path::kDownloadedSigned;
  Latencies latencies(state);
  std::size_t next = 0;
  long failures = 0;
  for (auto _ : state) {
    const ca::AccessRequest& request = requests[next++ % requests.size()];
    latencies.time([&] {
      if (api == Api::kReturning) {
        auto answer = w.registry->try_access_info(request);
        if (succeeds != std::holds_alternative<ca::AccessInfo>(answer)) ++failures;
        benchmark::DoNotOptimize(answer);
      } else if (succeeds) {
        benchmark::DoNotOptimize(w.registry->access_info(request));
      } else {
        try {
          w.registry->access_info(request);
        } catch (const ca::Error& e) {
          benchmark::DoNotOptimize(e.http_status());
          return;
        }
        ++failures;
      }
    });
  }
  if (failures != 0) state.SkipWithError("a request got the wrong answer");
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

// The floor of the repeat paths: a bare point SELECT in a read transaction of
// its own (bench_support.hpp, BarePointSelect), with raw SQLite on the same
// file, for the same clusters in the same order as repeat/downloaded.
void BM_PointSelectFloor(benchmark::State& state, long clusters) {
  Workload& w = workload(clusters);
  clusteraccess::bench::BarePointSelect select(w.path, w.downloaded_ids);
  Latencies latencies(state);
  for (auto _ : state) latencies.time([&] { select.run(); });
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

// First downloads, each followed by one bare durable UPDATE (the storage
// ceiling, sqlite3 only, on a file of its own): op by op, so that both see the
// same disk. The reported time is the downloads' alone; the ceiling comes as
// the ceiling_update_* counters.
void BM_Issue(benchmark::State& state, long clusters) {
  Workload& w = workload(clusters);
  const long long before = checkpointed_size(w.path);
  const std::size_t first = w.next_fresh.load();
  const auto iterations = static_cast<std::size_t>(state.max_iterations);
  clusteraccess::bench::BareDurableUpdate ceiling(g_options.workdir + "/ceiling-interleaved.db", iterations);
  Latencies latencies(state);
  Latencies ceiling_latencies(iterations);
  clusteraccess::bench::CpuTime cpu;
  clusteraccess::bench::CpuTime ceiling_cpu;
  for (auto _ : state) {
    if (w.next_fresh == w.fresh.size()) {
      state.SkipWithError("ran out of clusters not yet downloaded");
      break;
    }
    const ca::AccessRequest& request = w.fresh[w.next_fresh++];
    cpu.time([&] {
      state.SetIterationTime(latencies.time([&] {
        const ca::AccessInfo info = w.registry->access_info(request);
        if (!info.is_first_download()) throw std::runtime_error("not a first download");
        benchmark::DoNotOptimize(info.documents.data());
      }));
    });
    ceiling_cpu.time([&] { ceiling_latencies.time([&] { ceiling.run(); }); });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
  cpu.report(state);
  ceiling_latencies.report(state, "ceiling_update_");
  ceiling_cpu.report(state, "ceiling_update_");
  const auto issued = static_cast<double>(w.next_fresh.load() - first);
  if (issued > 0) {
    // The file grows by whole pages, which the slack of pages already in it
    // can delay: the figure means something over many downloads only, so
    // the growth itself is reported too.
    const auto grown = static_cast<double>(checkpointed_size(w.path) - before);
    state.counters["db_bytes_grown"] = grown;
    state.counters["db_bytes_per_download"] = grown / issued;
  }
}

// First downloads by several threads at once (a burst of onboarding), all on
// the one CPU the benchmark is pinned to: a key is made while another thread
// waits for its commit's fsync. Counters are per-thread averages.
void BM_IssueBurst(benchmark::State& state, long clusters) {
  Workload& w = workload(clusters);
  Latencies latencies(state);
  for (auto _ : state) {
    const std::size_t index = w.next_fresh++;
    if (index >= w.fresh.size()) {
      state.SkipWithError("ran out of clusters not yet downloaded");
      break;
    }
    latencies.time([&] {
      const ca::AccessInfo info = w.registry->access_info(w.fresh[index]);
      if (!info.is_first_download()) throw std::runtime_error("not a first download");
    });
  }
  state.SetItemsProcessed(state.iterations());
  latencies.report(state, "", benchmark::Counter::kAvgThreads);
}

}  // namespace

int main(int argc, char** argv) {
  clusteraccess::bench::initialize(
      argc, argv,
      {{"--workdir", [](const std::string& value) { g_options.workdir = value; }},
       {"--scales", [](const std::string& value) { g_options.scales = clusteraccess::bench::parse_scales(value); }},
       {"--issue-iterations",
        [](const std::string& value) { g_options.issue_iterations = std::atoll(value.c_str()); }}});
  for (const long n : g_options.scales) {
    const std::string suffix = "/" + std::to_string(n);
    // First downloads first: the repeat paths then run as they would in a
    // service that has issued some (a non-empty WAL; see bench/README.md).
    benchmark::RegisterBenchmark(("issue" + suffix).c_str(), BM_Issue, n)
        ->Iterations(std::min<benchmark::IterationCount>(g_options.issue_iterations, n / 2))
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
    if (n == g_options.scales.back()) {  // where fresh clusters are plenty
      benchmark::RegisterBenchmark(("issue_burst" + suffix).c_str(), BM_IssueBurst, n)
          ->Threads(kBurstThreads)
          ->Iterations(std::max<benchmark::IterationCount>(1, g_options.issue_iterations / kBurstThreads))
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("floor/point_select" + suffix).c_str(), BM_PointSelectFloor, n)
        ->Unit(benchmark::kMicrosecond);
    const std::pair<const char*, Path> paths[] = {{"repeat/downloaded", Path::kDownloaded},
                                                  {"repeat/downloaded_uniform", Path::kDownloadedUniform},
                                                  {"repeat/bad_id", Path::kBadId},
                                                  {"repeat/bad_token", Path::kBadToken},
                                                  {"repeat/no_grant", Path::kNoGrant},
                                                  {"repeat/downloaded_signed", Path::kDownloadedSigned}};
    for (const auto& [name, path] : paths) {
      benchmark::RegisterBenchmark((name + suffix).c_str(), BM_Repeat, n, path, Api::kThrowing)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark((name + suffix + "/try").c_str(), BM_Repeat, n, path, Api::kReturning)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  try {
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::cerr << "library_bench: " << e.what() << '\n';
    return 1;
  }
  benchmark::Shutdown();
  g_workloads.clear();
  return 0;
}
