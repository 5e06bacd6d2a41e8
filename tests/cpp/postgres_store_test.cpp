// What only the PostgreSQL backend does: its selection from the URI, the
// master key it needs, its refusals, and how it maps the server's failures
// (a lost connection, a timeout) to a 500 and recovers. Runs when
// $CLUSTERACCESS_TEST_POSTGRES names a database (scripts/test.sh sets it).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "backend_support.hpp"
#include "clusteraccess/clusteraccess.hpp"
#include "postgres.hpp"
#include "postgres_store.hpp"
#include "test_support.hpp"
#include "token.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
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

TEST_F(PostgresStoreTest, UnreachableServerIs500WithoutThePath) {
  const std::string uri = "postgresql:///nothing?host=" + location_->dir().path().string() + "&connect_timeout=2";
  const Error error = error_of([&] { PostgresStore store(uri, 1s); });
  EXPECT_EQ(error.code(), "UCS.01000007");
  EXPECT_EQ(error.message().find(location_->dir().path().string()), std::string::npos) << error.message();
}

}  // namespace
}  // namespace clusteraccess
