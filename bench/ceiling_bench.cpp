// The machine's ceilings for a first download, with no clusteraccess code:
//
//  * sqlite_durable_update: one single-row conditional UPDATE per durable
//    transaction (BEGIN IMMEDIATE; UPDATE ... WHERE id = ? AND downloaded_at
//    IS NULL; COMMIT) on a WAL database with synchronous=FULL -- the storage
//    cost a download cannot avoid;
//  * openssl_keygen_sign: one EC P-256 key generation plus one ECDSA/SHA-256
//    signature over a certificate-sized message -- the crypto a download
//    cannot avoid.
//
// Their per-operation times added up are the issuance ceiling (bench/run.py
// does the sum); everything a real download costs beyond it counts against
// the library.
#include <sqlite3.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench_support.hpp"

namespace {

using clusteraccess::bench::Latencies;

std::string g_workdir = "/tmp";
// Rows seeded for the UPDATE ceiling: each operation takes a fresh one, since
// an UPDATE that changes nothing commits without writing (and without fsync).
benchmark::IterationCount g_update_iterations = 2000;

void sqlite_check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
    throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
}

void exec(sqlite3* db, const char* sql) { sqlite_check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql); }

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* statement = nullptr;
  sqlite_check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr), db, sql);
  return statement;
}

void step_done(sqlite3_stmt* statement, sqlite3* db) {
  sqlite_check(sqlite3_step(statement), db, "step");
  sqlite3_reset(statement);
}

void BM_SqliteDurableUpdate(benchmark::State& state) {
  const std::string path = g_workdir + "/ceiling-update.db";
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
  sqlite3* db = nullptr;
  sqlite_check(sqlite3_open(path.c_str(), &db), db, "open");
  exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
  // The same shape as the registry's clusters table: a 16-byte id, WITHOUT ROWID.
  exec(db,
       "CREATE TABLE clusters (id BLOB PRIMARY KEY, downloaded_at INTEGER, "
       "certificate_serial TEXT UNIQUE) WITHOUT ROWID");
  const auto rows = static_cast<std::size_t>(state.max_iterations);
  std::vector<std::array<unsigned char, 16>> ids(rows);
  {
    exec(db, "BEGIN");
    sqlite3_stmt* insert = prepare(db, "INSERT INTO clusters (id) VALUES (?1)");
    for (auto& id : ids) {
      RAND_bytes(id.data(), static_cast<int>(id.size()));
      sqlite3_bind_blob(insert, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      step_done(insert, db);
    }
    sqlite3_finalize(insert);
    exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
  }
  sqlite3_stmt* begin = prepare(db, "BEGIN IMMEDIATE");
  sqlite3_stmt* update = prepare(db,
                                 "UPDATE clusters SET downloaded_at = ?1, certificate_serial = ?2 "
                                 "WHERE id = ?3 AND downloaded_at IS NULL");
  sqlite3_stmt* commit = prepare(db, "COMMIT");
  Latencies latencies(state);
  std::size_t next = 0;
  char serial[33];
  for (auto _ : state) {
    const auto& id = ids[next % rows];
    std::snprintf(serial, sizeof serial, "%032zx", next + 1);
    ++next;
    latencies.time([&] {
      step_done(begin, db);
      sqlite3_bind_int64(update, 1, 1700000000);
      sqlite3_bind_text(update, 2, serial, 32, SQLITE_STATIC);
      sqlite3_bind_blob(update, 3, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      step_done(update, db);
      if (sqlite3_changes(db) != 1) throw std::runtime_error("the UPDATE changed no row");
      step_done(commit, db);
    });
  }
  latencies.report(state);
  sqlite3_finalize(begin);
  sqlite3_finalize(update);
  sqlite3_finalize(commit);
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
}

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};

// Roughly the DER size of an agent certificate's to-be-signed part.
constexpr std::size_t kCertificateSizedMessage = 480;

void BM_OpensslKeygenSign(benchmark::State& state) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> keygen(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!keygen || EVP_PKEY_keygen_init(keygen.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(keygen.get(), "P-256") != 1) {
    state.SkipWithError("keygen setup failed");
    return;
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(keygen.get(), &raw) != 1) {
    state.SkipWithError("CA keygen failed");
    return;
  }
  const std::unique_ptr<EVP_PKEY, PkeyFree> ca_key(raw);
  const std::unique_ptr<EVP_MD, MdFree> sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> sign(EVP_MD_CTX_new());
  std::array<unsigned char, kCertificateSizedMessage> message{};
  RAND_bytes(message.data(), static_cast<int>(message.size()));
  std::array<unsigned char, 128> signature{};

  Latencies latencies(state);
  for (auto _ : state) {
    latencies.time([&] {
      EVP_PKEY* agent = nullptr;
      if (EVP_PKEY_generate(keygen.get(), &agent) != 1) throw std::runtime_error("keygen failed");
      EVP_PKEY_free(agent);
      std::size_t length = signature.size();
      if (EVP_DigestSignInit(sign.get(), nullptr, sha256.get(), nullptr, ca_key.get()) != 1 ||
          EVP_DigestSign(sign.get(), signature.data(), &length, message.data(), message.size()) != 1) {
        throw std::runtime_error("signing failed");
      }
      message[0] = signature[0];  // a new message each time
    });
  }
  latencies.report(state);
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flags first; the rest goes to Google Benchmark.
  std::vector<char*> rest;
  rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--workdir=", 0) == 0) {
      g_workdir = arg.substr(10);
    } else if (arg.rfind("--update-iterations=", 0) == 0) {
      g_update_iterations = std::atoll(arg.c_str() + 20);
    } else {
      rest.push_back(argv[i]);
    }
  }
  benchmark::RegisterBenchmark("ceiling/sqlite_durable_update", BM_SqliteDurableUpdate)
      ->Iterations(g_update_iterations)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("ceiling/openssl_keygen_sign", BM_OpensslKeygenSign)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
