// SqliteStore's own guarantees: the file, WAL, the in-memory store, the
// clear key wiped from the files. The storage contract every backend keeps is
// store_contract_test.cpp.
#include "sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store_test_support.hpp"
#include "test_support.hpp"
#include "token.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
using testing::TempDir;

using testing::kNow;
using testing::make_cluster;

void raw_exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// A store on a fresh file with one attached public cluster, granted to alice
// through a live token.
class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreTest() : path_(dir_.file("state.db")), store_(path_, 5000ms), cluster_(make_cluster("prod")) {
    store_.insert_cluster(cluster_);
    store_.insert_token("alice", alice_hash_, kNow, kNow + 3600);
    EXPECT_TRUE(store_.grant("alice", cluster_.id, kNow));
  }

  bool downloaded(const ClusterId& id) {
    const auto cluster = store_.cluster(id);
    return cluster && cluster->downloaded_at.has_value();
  }

  TempDir dir_;
  std::string path_;
  SqliteStore store_;
  Cluster cluster_;
  TokenHash alice_hash_ = hash_token(generate_token());
};

// What replace_clear_ca_key promises: afterwards the old value is nowhere in
// the files, though the table row, the free pages and the WAL all held it.
TEST_F(SqliteStoreTest, ReplaceClearCaKeyLeavesNoCopyOfTheOldKeyInTheFiles) {
  const std::string clear = "CLEAR-CA-KEY-" + std::string(300, 'q');
  store_.certificate_authority([&] { return StoredCa{"cert", SecretString(clear), false}; });
  // Copies in freed pages too: a table that held the value, dropped.
  raw_exec(path_, ("CREATE TABLE scratch (v BLOB); INSERT INTO scratch VALUES ('" + clear +
                   "'); DROP TABLE scratch;").c_str());
  const auto files = [this] {
    std::string bytes;
    for (const char* suffix : {"", "-wal", "-shm"}) bytes += testing::read_bytes(path_ + suffix).value_or("");
    return bytes;
  };
  ASSERT_NE(files().find("CLEAR-CA-KEY-"), std::string::npos) << "the scan must see the value before";
  ASSERT_TRUE(store_.replace_clear_ca_key("sealed"));
  EXPECT_EQ(files().find("CLEAR-CA-KEY-"), std::string::npos) << "while the store is open";
}

TEST(SqliteStore, CreatesTheFile0600WithWal) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  { SqliteStore store(path, 1000ms); }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(testing::journal_mode(path), "wal");
}

TEST(SqliteStore, InMemoryStoreIsOneDatabaseSharedByAllThreads) {
  SqliteStore store(":memory:", 1000ms);
  const Cluster cluster = make_cluster("prod");
  store.insert_cluster(cluster);
  std::atomic<int> seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (store.cluster(cluster.id).has_value()) ++seen;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(seen.load(), 200);
}

}  // namespace
}  // namespace clusteraccess
