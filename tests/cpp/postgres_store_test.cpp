// What only the PostgreSQL backend does: its selection from the URI, the
// master key it needs, its refusals, and how it maps the server's failures
// (a lost connection, a timeout) to a 500 and recovers. Runs when
// $CLUSTERACCESS_TEST_POSTGRES names a database (scripts/test.sh sets it).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "backend_support.hpp"
#include "clusteraccess/clusteraccess.hpp"
#include "postgres.hpp"
#include "postgres_store.hpp"
#include "store_test_support.hpp"
#include "test_support.hpp"
#include "token.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
using testing::kNow;
using testing::TestLocation;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::postgres_test_uri().empty()) GTEST_SKIP() << "$CLUSTERACCESS_TEST_POSTGRES is not set";
    location_ = std::make_unique<TestLocation>("postgres");
  }

  // The location's URI with its own application_name, so that a test can
  // find its store's sessions among those of the tests running beside it.
  std::string tagged_uri(const std::string& tag) const {
    return testing::with_parameter(location_->location(), "application_name=" + tag);
  }

  // Terminates every session of the server named `tag` (as a restart would).
  static void terminate_sessions(const std::string& tag) {
    postgres::Connection admin(testing::postgres_test_uri(), 30s);
    admin.exec(("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + tag + "'")
                   .c_str());
  }

  // Waits until a session named `tag` waits for a lock another holds.
  static void await_lock_wait(const std::string& tag) {
    postgres::Connection admin(testing::postgres_test_uri(), 30s);
    const std::string sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + tag +
                            "' AND wait_event_type = 'Lock'";
    for (int attempt = 0; attempt < 10000; ++attempt) {
      if (admin.exec(sql.c_str()).integer(0, 0) > 0) return;
      std::this_thread::sleep_for(1ms);
    }
    FAIL() << "no session of " << tag << " waited for the lock";
  }

  // A store on a cluster granted to alice, whose token is `alice_`.
  struct Granted {
    std::unique_ptr<PostgresStore> store;
    Cluster cluster = testing::make_cluster("prod");
    TokenHash alice = hash_token(generate_token());

    DownloadCommit commit(std::string serial) const {
      return DownloadCommit{cluster.id,       "alice", alice, kNow + 10, std::move(serial), AccessNetwork::kPublic,
                            std::nullopt,     std::nullopt};
    }
  };
  Granted granted(const std::string& uri) const {
    Granted out;
    out.store = std::make_unique<PostgresStore>(uri, 5s);
    out.store->insert_cluster(out.cluster);
    out.store->insert_token("alice", out.alice, kNow, kNow + 3600);
    EXPECT_TRUE(out.store->grant("alice", out.cluster.id, kNow));
    return out;
  }

  std::unique_ptr<TestLocation> location_;
};

TEST_F(PostgresStoreTest, BothUriSchemesSelectPostgresAndNeedANamedMasterKeyFile) {
  const std::string uri = location_->location();
  const Error error = error_of([&] { Registry registry(uri); });
  EXPECT_EQ(error.http_status(), 500);
  EXPECT_EQ(error.code(), "UCS.01000009");
  EXPECT_NE(error.message().find("master key"), std::string::npos) << error.message();

  RegistryOptions options;
  options.master_key_file = location_->dir().file("master.key");
  Registry first(uri, options);
  ASSERT_EQ(uri.rfind("postgresql://", 0), 0u);
  const std::string short_scheme = "postgres://" + uri.substr(std::string("postgresql://").size());
  Registry second(short_scheme, options);
  EXPECT_EQ(first.ca_certificate_pem(), second.ca_certificate_pem()) << "one database, one CA";
  EXPECT_TRUE(postgres::is_uri(short_scheme));
  EXPECT_FALSE(postgres::is_uri("postgresql.db"));
}

TEST_F(PostgresStoreTest, BackupIsRefusedNamingPgDump) {
  PostgresStore store(location_->location(), 5s);
  const Error error = error_of([&] { store.backup(location_->dir().file("copy.db")); });
  EXPECT_EQ(error.code(), "UCS.01000009");
  EXPECT_NE(error.message().find("pg_dump"), std::string::npos);
}

TEST_F(PostgresStoreTest, AnotherProgramsTablesAndANewerSchemaAreRefused) {
  location_->exec("CREATE TABLE inventory (id integer)");
  EXPECT_CA_ERROR(PostgresStore(location_->location(), 5s), 500, "UCS.01000007");
  location_->exec("DROP TABLE inventory");
  { PostgresStore created(location_->location(), 5s); }
  location_->exec("UPDATE clusteraccess_schema SET version = 99");
  const Error error = error_of([&] { PostgresStore(location_->location(), 5s); });
  EXPECT_EQ(error.http_status(), 500);
  EXPECT_NE(error.message().find("newer"), std::string::npos) << error.message();
}

TEST_F(PostgresStoreTest, ALostConnectionIs500AndTheNextCallReconnects) {
  const std::string tag = "lost_" + testing::random_suffix();
  PostgresStore store(tagged_uri(tag), 5s);
  store.set_settings({{"a", "1"}});
  terminate_sessions(tag);
  const Error error = error_of([&] { store.settings(); });
  EXPECT_EQ(error.http_status(), 500);
  EXPECT_EQ(error.code(), "UCS.01000007");
  EXPECT_EQ(error.message().find(location_->location()), std::string::npos) << "never the URI";
  EXPECT_EQ(store.settings(), (Settings{{"a", "1"}})) << "the next call connects again";
}

TEST_F(PostgresStoreTest, TheServersWarningsAreNotWrittenToTheProcesssStderr) {
  postgres::Connection connection(location_->location(), 5s);
  ::testing::internal::CaptureStderr();
  connection.exec(
      "SET client_min_messages = notice; "
      "DO $$ BEGIN RAISE WARNING 'a value: secret'; RAISE NOTICE 'another'; END $$");
  const std::string written = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(written, "");
}

TEST_F(PostgresStoreTest, ALockHeldPastTheTimeoutIs500AndChangesNothing) {
  PostgresStore store(location_->location(), 200ms);
  store.set_settings({{"a", "1"}});
  postgres::Connection holder(location_->location(), 30s);
  postgres::Transaction held(holder);
  holder.exec("LOCK TABLE settings IN ACCESS EXCLUSIVE MODE");
  const Error error = error_of([&] { store.set_settings({{"a", "2"}}); });
  EXPECT_EQ(error.code(), "UCS.01000007");
  held.commit();
  EXPECT_EQ(store.settings(), (Settings{{"a", "1"}}));
}

// The guard is read once the commit holds the cluster's row lock: a client
// that leaves while the commit waits for it (held here by another session)
// finds nothing recorded, and the connection serves the next commit.
TEST_F(PostgresStoreTest, AGuardAbandonedWhileTheCommitWaitsForTheRowLockRecordsNothing) {
  const std::string tag = "guard_" + testing::random_suffix();
  Granted g = granted(tagged_uri(tag));
  postgres::Connection holder(location_->location(), 30s);
  postgres::Transaction held(holder);
  holder.exec("SELECT 1 FROM clusters FOR UPDATE");
  DeliveryGuard guard;
  DownloadCommit commit = g.commit("aaaa");
  commit.delivery = &guard;
  std::thread leaving([&] {
    await_lock_wait(tag);
    guard.abandon();
    held.commit();
  });
  const Error error = error_of([&] { g.store->record_download(commit); });
  leaving.join();
  EXPECT_EQ(error.code(), error_code::kRequestAbandoned);
  EXPECT_FALSE(g.store->cluster(g.cluster.id)->downloaded_at.has_value());
  EXPECT_TRUE(g.store->downloads().empty());

  DeliveryGuard live;
  commit.delivery = &live;
  EXPECT_TRUE(g.store->record_download(commit));
  ASSERT_EQ(g.store->downloads().size(), 1u);
  EXPECT_EQ(g.store->downloads()[0].certificate_serial, "aaaa");
}

// A commit that waited for a winner's row lock (another session marked the
// cluster and held its transaction open) re-reads the row once it is free:
// it changes nothing and writes no audit record.
TEST_F(PostgresStoreTest, ACommitThatWaitedForTheWinnerWritesNothing) {
  const std::string tag = "loser_" + testing::random_suffix();
  Granted g = granted(tagged_uri(tag));
  postgres::Connection winner(location_->location(), 30s);
  postgres::Transaction won(winner);
  winner.exec("UPDATE clusters SET downloaded_at = 1, certificate_serial = 'winner'");
  std::thread committing([&] {
    await_lock_wait(tag);
    won.commit();
  });
  const bool recorded = g.store->record_download(g.commit("loser"));
  committing.join();
  EXPECT_FALSE(recorded);
  EXPECT_EQ(g.store->cluster(g.cluster.id)->certificate_serial, "winner");
  EXPECT_TRUE(g.store->downloads().empty()) << "the loser wrote an audit record";
}

// The key is made while the server runs the commit's statements: by then
// they are sent, and the server takes the audit table's lock for its row
// without waiting for the key.
TEST_F(PostgresStoreTest, TheKeyIsMadeWhileTheServerRunsTheCommitsStatements) {
  const std::string tag = "overlap_" + testing::random_suffix();
  Granted g = granted(tagged_uri(tag));
  postgres::Connection observer(location_->location(), 30s);
  const std::string sql = "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid) "
                          "WHERE a.application_name = '" + tag + "' AND l.relation = 'downloads'::regclass";
  bool seen = false;
  DownloadCommit commit = g.commit("aaaa");
  commit.make_key = [&] {
    for (int attempt = 0; attempt < 10000 && !seen; ++attempt) {
      seen = observer.exec(sql.c_str()).integer(0, 0) > 0;
      if (!seen) std::this_thread::sleep_for(1ms);
    }
  };
  EXPECT_TRUE(g.store->record_download(commit));
  EXPECT_TRUE(seen) << "the commit's statements had not reached the server while the key was made";
  ASSERT_EQ(g.store->downloads().size(), 1u);
}

// Each grant carries a copy of its cluster's access state (schema version
// 5), which a request's read takes instead of the cluster's row. A grant given
// while a download holds the cluster's row waits for it and copies the
// committed result: the new grantee is told "downloaded".
TEST_F(PostgresStoreTest, AGrantGivenWhileADownloadHoldsTheClusterCopiesItsOutcome) {
  const std::string tag = "grantwaits_" + testing::random_suffix();
  Granted g = granted(tagged_uri(tag));
  const TokenHash bob = hash_token(generate_token());
  g.store->insert_token("bob", bob, kNow, kNow + 3600);
  postgres::Connection downloader(location_->location(), 30s);
  postgres::Transaction downloading(downloader);
  downloader.exec("UPDATE clusters SET downloaded_at = 1, certificate_serial = 'winner'");
  std::thread committing([&] {
    await_lock_wait(tag);
    downloading.commit();
  });
  EXPECT_TRUE(g.store->grant("bob", g.cluster.id, kNow));
  committing.join();
  const auto access = g.store->request_state(bob, g.cluster.id).access;
  ASSERT_TRUE(access.has_value());
  EXPECT_TRUE(access->downloaded) << "the grant copied the cluster's state from before the download";
}

// The other order: a download that waited for a grant in flight (which
// holds the cluster's row FOR SHARE while it copies it) reaches that grant's
// copy too once it is committed, though the download's statement began
// before it was.
TEST_F(PostgresStoreTest, ADownloadThatWaitedForAGrantInFlightReachesItsCopy) {
  const std::string tag = "downloadwaits_" + testing::random_suffix();
  Granted g = granted(tagged_uri(tag));
  const TokenHash bob = hash_token(generate_token());
  g.store->insert_token("bob", bob, kNow, kNow + 3600);
  postgres::Connection granter(location_->location(), 30s);
  postgres::Transaction granting(granter);
  postgres::Params grant;
  grant.add("bob").add_bytes(g.cluster.id.bytes().data(), g.cluster.id.bytes().size());
  granter.exec("INSERT INTO grants (principal, cluster_id) VALUES ($1, $2)", grant);
  std::thread committing([&] {
    await_lock_wait(tag);
    granting.commit();
  });
  EXPECT_TRUE(g.store->record_download(g.commit("aaaa")));
  committing.join();
  const auto access = g.store->request_state(bob, g.cluster.id).access;
  ASSERT_TRUE(access.has_value());
  EXPECT_TRUE(access->downloaded) << "the new grant's copy missed the download";
  EXPECT_EQ(access->generation, 1);
}

// A registry of schema version 4 (grants without the copy) is upgraded when
// opened: every answer stays what it was.
TEST_F(PostgresStoreTest, AVersion4RegistryIsUpgradedWithTheSameAnswers) {
  Granted g = granted(location_->location());
  ASSERT_TRUE(g.store->record_download(g.commit("aaaa")));
  Cluster pending = testing::make_cluster("staging");
  g.store->insert_cluster(pending);
  ASSERT_TRUE(g.store->grant("alice", pending.id, kNow));
  g.store.reset();
  // Back to version 4's shape.
  location_->exec("DROP TRIGGER clusters_state_to_grants ON clusters");
  location_->exec("DROP TRIGGER grants_take_cluster_state ON grants");
  location_->exec("DROP FUNCTION cluster_state_to_grants(), grant_takes_cluster_state()");
  location_->exec("ALTER TABLE grants RESET (fillfactor), DROP COLUMN category, DROP COLUMN network, "
                  "DROP COLUMN downloaded, DROP COLUMN generation");
  location_->exec("UPDATE clusteraccess_schema SET version = 4");

  PostgresStore store(location_->location(), 5s);
  postgres::Connection reader(location_->location(), 30s);
  EXPECT_EQ(reader.exec("SELECT version FROM clusteraccess_schema").integer(0, 0), 5);
  const auto downloaded = store.request_state(g.alice, g.cluster.id).access;
  const auto fresh = store.request_state(g.alice, pending.id).access;
  ASSERT_TRUE(downloaded.has_value() && fresh.has_value());
  EXPECT_TRUE(downloaded->downloaded);
  EXPECT_FALSE(fresh->downloaded);
  EXPECT_EQ(downloaded->category, g.cluster.category);
  EXPECT_EQ(fresh->network, pending.network);
  // And the upgraded registry keeps the copies: the pending cluster's download.
  EXPECT_TRUE(store.record_download(DownloadCommit{pending.id, "alice", g.alice, kNow + 10, "bbbb",
                                                   AccessNetwork::kPublic, std::nullopt, std::nullopt}));
  EXPECT_TRUE(store.request_state(g.alice, pending.id).access->downloaded);
}

// A connection lost under the commit: 500, nothing recorded, and the next
// commit connects again and wins.
TEST_F(PostgresStoreTest, ALostConnectionUnderTheCommitIs500AndTheNextCommitReconnects) {
  const std::string tag = "lostcommit_" + testing::random_suffix();
  Granted g = granted(tagged_uri(tag));
  terminate_sessions(tag);
  const Error error = error_of([&] { g.store->record_download(g.commit("aaaa")); });
  EXPECT_EQ(error.code(), "UCS.01000007");
  EXPECT_FALSE(g.store->cluster(g.cluster.id)->downloaded_at.has_value());
  EXPECT_TRUE(g.store->record_download(g.commit("aaaa")));
  EXPECT_EQ(g.store->downloads().size(), 1u);
}

// A transaction opened together with its first statement: when the
// statement fails, the transaction is rolled back and the connection serves
// on (its statement stays prepared); when it succeeds, the transaction is
// open until committed or rolled back.
TEST_F(PostgresStoreTest, ATransactionOpenedWithAFailingStatementIsRolledBackAndTheConnectionServesOn) {
  postgres::Connection db(location_->location(), 5s);
  db.exec("CREATE TABLE numbers (n bigint PRIMARY KEY)");
  db.exec("INSERT INTO numbers VALUES (1)");
  constexpr postgres::Query kInsert{"test_insert_number", "INSERT INTO numbers VALUES ($1) RETURNING n"};
  const auto count = [&db] { return db.exec("SELECT count(*) FROM numbers").integer(0, 0); };
  {
    postgres::Params taken;
    taken.add(std::int64_t{1});
    EXPECT_THROW(postgres::Transaction(db, {{kInsert, taken}}), postgres::UniqueViolation);
  }
  EXPECT_TRUE(db.usable());
  EXPECT_FALSE(db.in_transaction());
  {
    postgres::Params two;
    two.add(std::int64_t{2});
    postgres::Transaction transaction(db, {{kInsert, two}});
    EXPECT_EQ(transaction.result(0).integer(0, 0), 2);
    EXPECT_TRUE(db.in_transaction());
  }  // rolled back
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(count(), 1);
  {
    postgres::Params three;
    three.add(std::int64_t{3});
    postgres::Transaction transaction(db, {{kInsert, three}});
    transaction.commit();
  }
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(count(), 2);
  constexpr postgres::Query kBroken{"test_broken", "INSERT INTO no_such_table VALUES ($1)"};
  postgres::Params four;
  four.add(std::int64_t{4});
  EXPECT_THROW(postgres::Transaction(db, {{kBroken, four}}), Error);
  EXPECT_TRUE(db.usable());
  EXPECT_FALSE(db.in_transaction());
  EXPECT_EQ(count(), 2);
}

TEST_F(PostgresStoreTest, UnreachableServerIs500WithoutThePath) {
  const std::string uri = "postgresql:///nothing?host=" + location_->dir().path().string() + "&connect_timeout=2";
  const Error error = error_of([&] { PostgresStore store(uri, 1s); });
  EXPECT_EQ(error.code(), "UCS.01000007");
  EXPECT_EQ(error.message().find(location_->dir().path().string()), std::string::npos) << error.message();
}

}  // namespace
}  // namespace clusteraccess
