// The storage contract the rules are written against (store.hpp), run against
// every backend: SQLite, and PostgreSQL when $CLUSTERACCESS_TEST_POSTGRES is set.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend_support.hpp"
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

DownloadCommit commit_for(const ClusterId& id, const std::string& principal, const TokenHash& hash,
                          std::string serial, std::int64_t now = kNow + 10) {
  return DownloadCommit{id, principal, hash, now, std::move(serial), AccessNetwork::kPublic, std::nullopt,
                        std::nullopt};
}

// The token with `hash`, as a request finds it (the store's one read per request).
std::optional<TokenRecord> token_of(Store& store, const TokenHash& hash) {
  return store.request_state(hash, std::nullopt).token;
}

// What the holder of token `hash` learns of cluster `id`, as a request finds it.
std::optional<ClusterAccess> access_of(Store& store, const TokenHash& hash, const ClusterId& id) {
  return store.request_state(hash, id).access;
}

// A store on a fresh database with one attached public cluster, granted to
// alice through a live token.
class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  StoreContractTest()
      : location_(GetParam()), owned_(location_.open(5000ms)), store_(*owned_), cluster_(make_cluster("prod")) {
    store_.insert_cluster(cluster_);
    store_.insert_token("alice", alice_hash_, kNow, kNow + 3600);
    EXPECT_TRUE(store_.grant("alice", cluster_.id, kNow));
  }

  bool downloaded(const ClusterId& id) {
    const auto cluster = store_.cluster(id);
    return cluster && cluster->downloaded_at.has_value();
  }

  // An audit row written outside the store.
  void raw_insert_download(const ClusterId& id, const std::string& serial) {
    const auto bytes = id.bytes();
    location_.exec("INSERT INTO downloads (cluster_id, principal, downloaded_at, certificate_serial, network) "
                   "VALUES (" + location_.hex_blob(std::string(bytes.begin(), bytes.end())) +
                   ", 'mallory', 1, '" + serial + "', 'public')");
  }

  testing::TestLocation location_;
  std::unique_ptr<Store> owned_;
  Store& store_;
  Cluster cluster_;
  TokenHash alice_hash_ = hash_token(generate_token());
};

TEST_P(StoreContractTest, RecordDownloadMarksTheClusterAndWritesTheAuditRow) {
  DownloadCommit commit = commit_for(cluster_.id, "alice", alice_hash_, "1a2b3c");
  commit.network = AccessNetwork::kPrivate;
  commit.region = "eu-de";
  commit.vpcendpoint = "10.0.0.1";
  ASSERT_TRUE(store_.record_download(commit));
  const auto cluster = store_.cluster(cluster_.id);
  ASSERT_TRUE(cluster.has_value());
  EXPECT_EQ(cluster->downloaded_at, kNow + 10);
  EXPECT_EQ(cluster->certificate_serial, "1a2b3c");
  const auto downloads = store_.downloads();
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].cluster_id, cluster_.id);
  EXPECT_EQ(downloads[0].principal, "alice");
  EXPECT_EQ(downloads[0].downloaded_at, kNow + 10);
  EXPECT_EQ(downloads[0].certificate_serial, "1a2b3c");
  EXPECT_EQ(downloads[0].network, AccessNetwork::kPrivate);
  EXPECT_EQ(downloads[0].region, "eu-de");
  EXPECT_EQ(downloads[0].vpcendpoint, "10.0.0.1");
}

TEST_P(StoreContractTest, RecordDownloadIsConditionalSecondCallIsFalseAndChangesNothing) {
  ASSERT_TRUE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa")));
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "bbbb", kNow + 20)));
  EXPECT_EQ(store_.cluster(cluster_.id)->certificate_serial, "aaaa");
  EXPECT_EQ(store_.cluster(cluster_.id)->downloaded_at, kNow + 10);
  ASSERT_EQ(store_.downloads().size(), 1u);
  EXPECT_EQ(store_.downloads()[0].certificate_serial, "aaaa");
}

TEST_P(StoreContractTest, RecordDownloadIsFalseWhenTheGrantIsGone) {
  ASSERT_TRUE(store_.revoke_grant("alice", cluster_.id));
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa")));
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());
}

TEST_P(StoreContractTest, RecordDownloadIsFalseWhenTheTokenIsRevoked) {
  ASSERT_TRUE(store_.revoke_token(alice_hash_, kNow + 5));
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa")));
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());
}

TEST_P(StoreContractTest, RecordDownloadIsFalseWhenTheTokenHasExpiredAtCommitTime) {
  // expires_at is kNow + 3600: dead at that second, live one before it.
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa", kNow + 3600)));
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa", kNow + 99999)));
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());
  EXPECT_TRUE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa", kNow + 3599)));
}

TEST_P(StoreContractTest, RecordDownloadIsFalseForAnotherPrincipalsToken) {
  const TokenHash bob_hash = hash_token(generate_token());
  store_.insert_token("bob", bob_hash, kNow, kNow + 3600);
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", bob_hash, "aaaa")));
  // bob holds no grant himself.
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "bob", bob_hash, "aaaa")));
  EXPECT_FALSE(downloaded(cluster_.id));
}

TEST_P(StoreContractTest, RecordDownloadIsFalseForUnknownTokenOrCluster) {
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", hash_token("cat_unknown"), "aaaa")));
  EXPECT_FALSE(store_.record_download(commit_for(ClusterId::generate(), "alice", alice_hash_, "bbbb")));
  EXPECT_TRUE(store_.downloads().empty());
}

TEST_P(StoreContractTest, RecordDownloadRollsBackTheClusterUpdateWhenTheAuditInsertFails) {
  // An audit row for the cluster that the store did not write makes the
  // audit insert fail (one row per cluster) after the cluster update ran.
  raw_insert_download(cluster_.id, "ffff");
  const Error error = error_of([&] { store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa")); });
  EXPECT_EQ(error.http_status(), 500);
  EXPECT_FALSE(downloaded(cluster_.id)) << "cluster marked downloaded without its audit record";
  ASSERT_EQ(store_.downloads().size(), 1u);
  EXPECT_EQ(store_.downloads()[0].certificate_serial, "ffff");

  // The pooled connection is usable again after the failed transaction.
  location_.exec("DELETE FROM downloads");
  EXPECT_TRUE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa")));
  EXPECT_TRUE(downloaded(cluster_.id));
}

TEST_P(StoreContractTest, RecordDownloadRollsBackWhenTheSerialIsAlreadyAudited) {
  const Cluster other = make_cluster("other");
  store_.insert_cluster(other);
  raw_insert_download(other.id, "abcd");
  EXPECT_THROW(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "abcd")), Error);
  EXPECT_FALSE(downloaded(cluster_.id));
}

// A delivery guard found abandoned once the lock is held: request_abandoned,
// nothing recorded, and the store (its connection) serves the next call.
TEST_P(StoreContractTest, RecordDownloadWithAnAbandonedGuardThrowsAndRecordsNothing) {
  DeliveryGuard guard;
  guard.abandon();
  DownloadCommit commit = commit_for(cluster_.id, "alice", alice_hash_, "aaaa");
  commit.delivery = &guard;
  const Error error = error_of([&] { store_.record_download(commit); });
  EXPECT_EQ(error.code(), error_code::kRequestAbandoned);
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());
  EXPECT_FALSE(access_of(store_, alice_hash_, cluster_.id)->downloaded);

  // The same commit with a live guard wins: nothing of the first was left.
  DeliveryGuard live;
  commit.delivery = &live;
  ASSERT_TRUE(store_.record_download(commit));
  ASSERT_EQ(store_.downloads().size(), 1u);
  EXPECT_EQ(store_.downloads()[0].certificate_serial, "aaaa");
  EXPECT_EQ(store_.cluster(cluster_.id)->certificate_serial, "aaaa");
}

TEST_P(StoreContractTest, DuplicateSerialAcrossClustersIsRefused) {
  const Cluster other = make_cluster("other");
  store_.insert_cluster(other);
  ASSERT_TRUE(store_.grant("alice", other.id, kNow));
  ASSERT_TRUE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "abcd")));
  EXPECT_THROW(store_.record_download(commit_for(other.id, "alice", alice_hash_, "abcd")), Error);
  EXPECT_FALSE(downloaded(other.id));
  EXPECT_EQ(store_.downloads().size(), 1u);
}

TEST_P(StoreContractTest, DownloadsAreListedOldestFirst) {
  const Cluster second = make_cluster("second");
  store_.insert_cluster(second);
  ASSERT_TRUE(store_.grant("alice", second.id, kNow));
  ASSERT_TRUE(store_.record_download(commit_for(second.id, "alice", alice_hash_, "02", kNow + 50)));
  ASSERT_TRUE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "01", kNow + 20)));
  const auto downloads = store_.downloads();
  ASSERT_EQ(downloads.size(), 2u);
  EXPECT_EQ(downloads[0].cluster_id, second.id);  // recorded first
  EXPECT_EQ(downloads[1].cluster_id, cluster_.id);
}

TEST_P(StoreContractTest, ClusterAccessReportsTheGrantedClusterAndItsDownload) {
  auto access = access_of(store_, alice_hash_, cluster_.id);
  ASSERT_TRUE(access.has_value());
  EXPECT_EQ(access->category, ClusterCategory::kAttached);
  EXPECT_EQ(access->network, AccessNetwork::kPublic);
  EXPECT_FALSE(access->downloaded);

  ASSERT_TRUE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa")));
  access = access_of(store_, alice_hash_, cluster_.id);
  ASSERT_TRUE(access.has_value());
  EXPECT_TRUE(access->downloaded);

  // For a principal without a grant: nothing, exactly as for an unknown
  // cluster -- not even whether it exists or was downloaded.
  const TokenHash bob_hash = hash_token(generate_token());
  store_.insert_token("bob", bob_hash, kNow, kNow + 3600);
  EXPECT_FALSE(access_of(store_, bob_hash, cluster_.id).has_value());
  EXPECT_FALSE(access_of(store_, bob_hash, ClusterId::generate()).has_value());
}

// A winning commit hands its callback the settings read in its own
// transaction: settings changed after the request was judged are the ones
// it gets. A loser's callback is never called.
TEST_P(StoreContractTest, RecordDownloadHandsTheWinnerTheSettingsOfItsOwnTransaction) {
  store_.set_settings({{"public_endpoint", "proxy.example.com:443"}});
  int calls = 0;
  Settings seen;
  DownloadCommit commit = commit_for(cluster_.id, "alice", alice_hash_, "aaaa");
  commit.with_settings = [&](const Settings& settings) {
    ++calls;
    seen = settings;
  };
  store_.set_settings({{"public_endpoint", "moved.example.com:444"}, {"agent_image", "agent:2"}});
  ASSERT_TRUE(store_.record_download(commit));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, store_.settings());
  EXPECT_EQ(seen.at("public_endpoint"), "moved.example.com:444");
  EXPECT_EQ(seen.at("agent_image"), "agent:2");

  DownloadCommit loser = commit_for(cluster_.id, "alice", alice_hash_, "bbbb");
  loser.with_settings = [&](const Settings&) { ++calls; };
  EXPECT_FALSE(store_.record_download(loser));
  EXPECT_EQ(calls, 1) << "a loser's callback was called";
}

// What the callback throws is thrown, and the commit is rolled back: the
// cluster is not marked, no audit record is written, and the same commit
// wins once the callback succeeds.
TEST_P(StoreContractTest, ACallbackFailureInsideTheCommitRecordsNothing) {
  DownloadCommit commit = commit_for(cluster_.id, "alice", alice_hash_, "aaaa");
  commit.with_settings = [](const Settings&) { throw Error::not_configured("no public proxy endpoint is set"); };
  const Error error = error_of([&] { store_.record_download(commit); });
  EXPECT_EQ(error.code(), error_code::kNotConfigured);
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());
  EXPECT_FALSE(store_.cluster(cluster_.id)->certificate_serial.has_value());
  EXPECT_FALSE(access_of(store_, alice_hash_, cluster_.id)->downloaded);

  bool called = false;
  commit.with_settings = [&](const Settings&) { called = true; };
  ASSERT_TRUE(store_.record_download(commit));
  EXPECT_TRUE(called);
  ASSERT_EQ(store_.downloads().size(), 1u);
  EXPECT_EQ(store_.downloads()[0].certificate_serial, "aaaa");
}

// The key is made by the commit, once per call, before it knows whether it
// wins and before the settings: a winner's and a loser's alike. A key that
// cannot be made records nothing, and the commit wins once it can.
TEST_P(StoreContractTest, RecordDownloadMakesTheKeyFirstAndAKeyFailureRecordsNothing) {
  std::vector<std::string> steps;
  DownloadCommit commit = commit_for(cluster_.id, "alice", alice_hash_, "aaaa");
  commit.make_key = [&] {
    steps.push_back("key");
    throw Error::certificates("key generation failed");
  };
  commit.with_settings = [&](const Settings&) { steps.push_back("settings"); };
  const Error error = error_of([&] { store_.record_download(commit); });
  EXPECT_EQ(error.code(), error_code::kCertificateFailure);
  EXPECT_EQ(steps, std::vector<std::string>{"key"});
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());

  steps.clear();
  commit.make_key = [&] { steps.push_back("key"); };
  ASSERT_TRUE(store_.record_download(commit));
  EXPECT_EQ(steps, (std::vector<std::string>{"key", "settings"}));
  ASSERT_EQ(store_.downloads().size(), 1u);

  steps.clear();
  DownloadCommit loser = commit_for(cluster_.id, "alice", alice_hash_, "bbbb");
  loser.make_key = commit.make_key;
  loser.with_settings = commit.with_settings;
  EXPECT_FALSE(store_.record_download(loser));
  EXPECT_EQ(steps, std::vector<std::string>{"key"});
}

TEST_P(StoreContractTest, ClusterAccessOfUnknownClusterIsNothing) {
  EXPECT_FALSE(access_of(store_, alice_hash_, ClusterId::generate()).has_value());
}

TEST_P(StoreContractTest, RequestStateIsTheTokenAndTheClusterOfItsPrincipal) {
  const RequestState state = store_.request_state(alice_hash_, cluster_.id);
  ASSERT_TRUE(state.token.has_value());
  EXPECT_EQ(state.token->principal, "alice");
  ASSERT_TRUE(state.access.has_value());
  // No cluster id: the token alone.
  const RequestState no_id = store_.request_state(alice_hash_, std::nullopt);
  EXPECT_TRUE(no_id.token.has_value());
  EXPECT_FALSE(no_id.access.has_value());
  // An unknown token: nothing at all, not even for an existing cluster.
  const RequestState unknown = store_.request_state(hash_token("cat_unknown"), cluster_.id);
  EXPECT_FALSE(unknown.token.has_value());
  EXPECT_FALSE(unknown.access.has_value());
}

TEST_P(StoreContractTest, ClusterAccessReportsCategoryAndNetwork) {
  const Cluster cce = make_cluster("cce-one", AccessNetwork::kPublic, ClusterCategory::kCce);
  const Cluster priv = make_cluster("private-one", AccessNetwork::kPrivate);
  store_.insert_cluster(cce);
  store_.insert_cluster(priv);
  EXPECT_FALSE(access_of(store_, alice_hash_, priv.id).has_value());  // not granted yet
  ASSERT_TRUE(store_.grant("alice", cce.id, kNow));
  ASSERT_TRUE(store_.grant("alice", priv.id, kNow));
  EXPECT_EQ(access_of(store_, alice_hash_, cce.id)->category, ClusterCategory::kCce);
  EXPECT_EQ(access_of(store_, alice_hash_, priv.id)->network, AccessNetwork::kPrivate);
}

TEST_P(StoreContractTest, ClusterAccessFollowsGrantAndRevoke) {
  ASSERT_TRUE(store_.revoke_grant("alice", cluster_.id));
  EXPECT_FALSE(access_of(store_, alice_hash_, cluster_.id).has_value());
  EXPECT_FALSE(store_.revoke_grant("alice", cluster_.id));
  ASSERT_TRUE(store_.grant("alice", cluster_.id, kNow));
  ASSERT_TRUE(store_.grant("alice", cluster_.id, kNow));  // twice is harmless
  EXPECT_TRUE(access_of(store_, alice_hash_, cluster_.id).has_value());
}

TEST_P(StoreContractTest, GrantOfUnknownClusterIsFalse) {
  EXPECT_FALSE(store_.grant("alice", ClusterId::generate(), kNow));
}

TEST_P(StoreContractTest, TokensAreFoundByHash) {
  const auto token = token_of(store_, alice_hash_);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->hash, alice_hash_);
  EXPECT_EQ(token->principal, "alice");
  EXPECT_EQ(token->expires_at, kNow + 3600);
  EXPECT_FALSE(token->revoked);
  EXPECT_FALSE(token_of(store_, hash_token("cat_unknown")).has_value());
}

TEST_P(StoreContractTest, RevokeTokenMarksItRevoked) {
  EXPECT_TRUE(store_.revoke_token(alice_hash_, kNow + 1));
  EXPECT_TRUE(token_of(store_, alice_hash_)->revoked);
  EXPECT_FALSE(store_.revoke_token(hash_token("cat_unknown"), kNow + 1));
}

TEST_P(StoreContractTest, DuplicateTokenHashIsRefused) {
  EXPECT_THROW(store_.insert_token("bob", alice_hash_, kNow, kNow + 10), Error);
  EXPECT_EQ(token_of(store_, alice_hash_)->principal, "alice");
}

TEST_P(StoreContractTest, InsertClusterRefusesTakenIdOrName) {
  Cluster same_name = make_cluster("prod");
  EXPECT_CA_ERROR(store_.insert_cluster(same_name), 409, "UCS.01000006");
  Cluster same_id = make_cluster("other");
  same_id.id = cluster_.id;
  EXPECT_CA_ERROR(store_.insert_cluster(same_id), 409, "UCS.01000006");
  EXPECT_EQ(store_.clusters().size(), 1u);
}

TEST_P(StoreContractTest, ClustersRoundTrip) {
  const auto stored = store_.cluster(cluster_.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->id, cluster_.id);
  EXPECT_EQ(stored->name, "prod");
  EXPECT_EQ(stored->category, ClusterCategory::kAttached);
  EXPECT_EQ(stored->provider, "eks");
  EXPECT_EQ(stored->network, AccessNetwork::kPublic);
  EXPECT_EQ(stored->created_at, kNow);
  EXPECT_FALSE(stored->downloaded_at.has_value());
  EXPECT_FALSE(stored->certificate_serial.has_value());
  EXPECT_FALSE(store_.cluster(ClusterId::generate()).has_value());
  ASSERT_EQ(store_.clusters().size(), 1u);
}

TEST_P(StoreContractTest, SettingsAreSetTogetherAndReplaced) {
  EXPECT_EQ(store_.settings().count("a"), 0u);
  store_.set_settings({{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(store_.settings(), (Settings{{"a", "1"}, {"b", "2"}}));
  store_.set_settings({{"a", "3"}});
  EXPECT_EQ(store_.settings(), (Settings{{"a", "3"}, {"b", "2"}}));
}

TEST_P(StoreContractTest, RegionsUpsertAndList) {
  EXPECT_FALSE(store_.region("eu-de").has_value());
  store_.put_region(Region{"eu-de", {"a.example.com", 1}});
  store_.put_region(Region{"ap-1", {"b.example.com", 2}});
  store_.put_region(Region{"eu-de", {"c.example.com", 3}});
  const auto region = store_.region("eu-de");
  ASSERT_TRUE(region.has_value());
  EXPECT_EQ(region->proxy.host, "c.example.com");
  EXPECT_EQ(region->proxy.port, 3);
  const auto regions = store_.regions();
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].name, "ap-1");
  EXPECT_EQ(regions[1].name, "eu-de");
}

TEST_P(StoreContractTest, CertificateAuthorityIsCreatedOnceThenLoaded) {
  int created = 0;
  const auto create = [&created] {
    ++created;
    return StoredCa{"certificate " + std::to_string(created), SecretString("key " + std::to_string(created)), true};
  };
  const StoredCa first = store_.certificate_authority(create);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(first.certificate_pem, "certificate 1");
  EXPECT_EQ(first.private_key.view(), "key 1");
  EXPECT_TRUE(first.key_sealed);
  const StoredCa again = store_.certificate_authority(create);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(again.certificate_pem, "certificate 1");
  EXPECT_EQ(again.private_key.view(), "key 1");
  const auto reopened_store = location_.open();
  Store& reopened = *reopened_store;
  EXPECT_EQ(reopened.certificate_authority(create).certificate_pem, "certificate 1");
  EXPECT_EQ(created, 1);
}

TEST_P(StoreContractTest, FailedCertificateAuthorityCreationStoresNothing) {
  EXPECT_THROW(store_.certificate_authority([]() -> StoredCa { throw Error::certificates("boom"); }), Error);
  const StoredCa stored = store_.certificate_authority([] { return StoredCa{"cert", SecretString("key"), true}; });
  EXPECT_EQ(stored.certificate_pem, "cert");
}

// The store keeps the key's bytes as given, whatever they are: sealed bytes
// are binary, with NULs.
TEST_P(StoreContractTest, CertificateAuthorityKeyBytesRoundTripExactly) {
  const std::string bytes("\x01\x00sealed\xff\x00", 10);
  store_.certificate_authority([&] { return StoredCa{"cert", SecretString(bytes), true}; });
  const auto reopened_store = location_.open();
  Store& reopened = *reopened_store;
  const StoredCa stored = reopened.certificate_authority([]() -> StoredCa { throw Error::internal("not again"); });
  EXPECT_EQ(stored.private_key.view(), bytes);
  EXPECT_TRUE(stored.key_sealed);
}

TEST_P(StoreContractTest, ReplaceClearCaKeySealsOnlyAClearKeyOnce) {
  EXPECT_FALSE(store_.replace_clear_ca_key("sealed")) << "no CA yet";
  store_.certificate_authority([] { return StoredCa{"cert", SecretString("clear key"), false}; });
  EXPECT_TRUE(store_.replace_clear_ca_key("sealed 1"));
  EXPECT_FALSE(store_.replace_clear_ca_key("sealed 2")) << "already sealed";
  const auto reopened_store = location_.open();
  Store& reopened = *reopened_store;
  const StoredCa stored = reopened.certificate_authority([]() -> StoredCa { throw Error::internal("not again"); });
  EXPECT_EQ(stored.private_key.view(), "sealed 1");
  EXPECT_TRUE(stored.key_sealed);
  EXPECT_EQ(stored.certificate_pem, "cert");
}

TEST_P(StoreContractTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  const auto other_store = location_.open();
  Store& other = *other_store;
  const Cluster second = make_cluster("second");
  other.insert_cluster(second);
  EXPECT_TRUE(store_.cluster(second.id).has_value());
  ASSERT_TRUE(other.record_download(commit_for(cluster_.id, "alice", alice_hash_, "aaaa")));
  EXPECT_TRUE(access_of(store_, alice_hash_, cluster_.id)->downloaded);
  EXPECT_FALSE(store_.record_download(commit_for(cluster_.id, "alice", alice_hash_, "bbbb")));
}

// Several threads share the pool: reads and writes interleave without errors
// and every write is visible afterwards.
TEST_P(StoreContractTest, ConnectionPoolServesSeveralThreads) {
  const testing::TestLocation location(GetParam());
  const auto owned = location.open(10000ms);
  Store& store = *owned;
  const Cluster cluster = make_cluster("prod");
  store.insert_cluster(cluster);
  constexpr int kThreads = 8;
  constexpr int kRounds = 40;
  std::vector<std::vector<TokenHash>> hashes(kThreads);
  std::atomic<bool> go{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      const std::string principal = "user" + std::to_string(t);
      try {
        for (int i = 0; i < kRounds; ++i) {
          const TokenHash hash = hash_token(principal + "/" + std::to_string(i));
          store.insert_token(principal, hash, kNow, kNow + 60);
          hashes[static_cast<std::size_t>(t)].push_back(hash);
          if (!token_of(store, hash).has_value()) ++failures;
          if (!store.grant(principal, cluster.id, kNow)) ++failures;
          const auto access = access_of(store, hash, cluster.id);
          if (!access) ++failures;
          if (store.settings().count("nothing") != 0) ++failures;
        }
      } catch (const std::exception& error) {
        ADD_FAILURE() << principal << ": " << error.what();
        ++failures;
      }
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(hashes[static_cast<std::size_t>(t)].size(), static_cast<std::size_t>(kRounds));
    for (const TokenHash& hash : hashes[static_cast<std::size_t>(t)]) {
      const auto token = token_of(store, hash);
      ASSERT_TRUE(token.has_value());
      EXPECT_EQ(token->principal, "user" + std::to_string(t));
    }
  }
}

TEST_P(StoreContractTest, RacingRecordDownloadsHaveExactlyOneWinner) {
  const testing::TestLocation location(GetParam());
  const auto owned = location.open(10000ms);
  Store& store = *owned;
  const TokenHash hash = hash_token("cat_racer");
  store.insert_token("alice", hash, kNow, kNow + 3600);
  constexpr int kThreads = 8;
  for (int round = 0; round < 10; ++round) {
    const Cluster cluster = make_cluster("race-" + std::to_string(round));
    store.insert_cluster(cluster);
    ASSERT_TRUE(store.grant("alice", cluster.id, kNow));
    std::atomic<bool> go{false};
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        try {
          const std::string serial = std::to_string(round) + "f" + std::to_string(t);
          if (store.record_download(commit_for(cluster.id, "alice", hash, serial))) ++winners;
        } catch (const std::exception&) {
          ++errors;
        }
      });
    }
    go = true;
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(errors.load(), 0) << "round " << round;
  }
  EXPECT_EQ(store.downloads().size(), 10u);
}

// --- access keys (AK/SK) ----------------------------------------------------------

// An AK of the stored form (20 characters), distinct per `n`.
std::string access_key_id(int n) {
  std::string ak = "AKTEST" + std::to_string(n);
  ak.resize(20, '0');
  return ak;
}

// Sealed bytes as the layer above hands them over: opaque, NUL and high
// bytes included, kept byte for byte.
const std::string kSealed = std::string("\x00\x01sealed\xff\x80", 10) + std::string(40, '\x7f');

DownloadCommit signed_commit_for(const ClusterId& id, const std::string& principal, const std::string& access_key,
                                 std::string serial, std::int64_t now = kNow + 10) {
  DownloadCommit commit = commit_for(id, principal, TokenHash{}, std::move(serial), now);
  commit.access_key = access_key;
  return commit;
}

TEST_P(StoreContractTest, AccessKeysKeepTheirSealedSecretAndAreListedOldestFirstWithoutIt) {
  store_.insert_access_key("bob", access_key_id(2), "second", kNow + 5, kNow + 100);
  store_.insert_access_key("alice", access_key_id(1), kSealed, kNow, kNow + 3600);
  const SignedRequestState state = store_.signed_request_state(access_key_id(1), std::nullopt);
  ASSERT_TRUE(state.key.has_value());
  EXPECT_EQ(state.key->principal, "alice");
  EXPECT_EQ(state.key->sealed_secret.view(), kSealed);
  EXPECT_EQ(state.key->expires_at, kNow + 3600);
  EXPECT_FALSE(state.key->revoked);
  EXPECT_FALSE(state.access.has_value());  // no cluster asked for
  const auto keys = store_.access_keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].access_key, access_key_id(1));
  EXPECT_EQ(keys[0].principal, "alice");
  EXPECT_EQ(keys[0].created_at, kNow);
  EXPECT_EQ(keys[0].expires_at, kNow + 3600);
  EXPECT_FALSE(keys[0].revoked_at.has_value());
  EXPECT_EQ(keys[1].access_key, access_key_id(2));
  EXPECT_EQ(keys[1].principal, "bob");  // a principal new to the store, created with its key
}

TEST_P(StoreContractTest, DuplicateAccessKeyIsRefusedAndChangesNothing) {
  store_.insert_access_key("alice", access_key_id(1), kSealed, kNow, kNow + 3600);
  const Error error = error_of([&] { store_.insert_access_key("bob", access_key_id(1), "other", kNow, kNow + 10); });
  EXPECT_EQ(error.http_status(), 500);
  const auto state = store_.signed_request_state(access_key_id(1), std::nullopt);
  ASSERT_TRUE(state.key.has_value());
  EXPECT_EQ(state.key->principal, "alice");
  EXPECT_EQ(state.key->sealed_secret.view(), kSealed);
  EXPECT_EQ(store_.access_keys().size(), 1u);
}

TEST_P(StoreContractTest, RevokeAccessKeyKeepsTheFirstRevocationTime) {
  store_.insert_access_key("alice", access_key_id(1), kSealed, kNow, kNow + 3600);
  EXPECT_TRUE(store_.revoke_access_key(access_key_id(1), kNow + 7));
  EXPECT_TRUE(store_.revoke_access_key(access_key_id(1), kNow + 9));
  EXPECT_EQ(store_.access_keys().at(0).revoked_at, kNow + 7);
  EXPECT_TRUE(store_.signed_request_state(access_key_id(1), std::nullopt).key->revoked);
  EXPECT_FALSE(store_.revoke_access_key(access_key_id(3), kNow + 9));
}

TEST_P(StoreContractTest, SignedRequestStateIsTheKeyAndTheClusterOfItsPrincipal) {
  store_.insert_access_key("alice", access_key_id(1), kSealed, kNow, kNow + 3600);
  store_.insert_access_key("bob", access_key_id(2), kSealed, kNow, kNow + 3600);
  const SignedRequestState granted = store_.signed_request_state(access_key_id(1), cluster_.id);
  ASSERT_TRUE(granted.key.has_value());
  ASSERT_TRUE(granted.access.has_value());
  EXPECT_EQ(granted.access->category, ClusterCategory::kAttached);
  EXPECT_EQ(granted.access->network, AccessNetwork::kPublic);
  EXPECT_FALSE(granted.access->downloaded);
  EXPECT_EQ(granted.access->generation, 1);
  // bob holds no grant: his key, not the cluster.
  const SignedRequestState ungranted = store_.signed_request_state(access_key_id(2), cluster_.id);
  EXPECT_TRUE(ungranted.key.has_value());
  EXPECT_FALSE(ungranted.access.has_value());
  // An unknown AK: nothing at all, not even for an existing cluster.
  const SignedRequestState unknown = store_.signed_request_state(access_key_id(3), cluster_.id);
  EXPECT_FALSE(unknown.key.has_value());
  EXPECT_FALSE(unknown.access.has_value());
  ASSERT_TRUE(store_.record_download(signed_commit_for(cluster_.id, "alice", access_key_id(1), "aaaa")));
  EXPECT_TRUE(store_.signed_request_state(access_key_id(1), cluster_.id).access->downloaded);
}

TEST_P(StoreContractTest, SignedRecordDownloadRequiresTheAccessKeyLiveNotTheToken) {
  store_.insert_access_key("alice", access_key_id(1), kSealed, kNow, kNow + 3600);
  store_.insert_access_key("bob", access_key_id(2), kSealed, kNow, kNow + 3600);
  // Another principal's key, an unknown key, a key dead at commit time.
  EXPECT_FALSE(store_.record_download(signed_commit_for(cluster_.id, "alice", access_key_id(2), "aaaa")));
  EXPECT_FALSE(store_.record_download(signed_commit_for(cluster_.id, "alice", access_key_id(3), "aaaa")));
  EXPECT_FALSE(store_.record_download(signed_commit_for(cluster_.id, "alice", access_key_id(1), "aaaa", kNow + 3600)));
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());
  // The token is not what a signed commit needs: revoked, the key still commits.
  ASSERT_TRUE(store_.revoke_token(alice_hash_, kNow + 1));
  ASSERT_TRUE(store_.record_download(signed_commit_for(cluster_.id, "alice", access_key_id(1), "aaaa", kNow + 3599)));
  EXPECT_EQ(store_.cluster(cluster_.id)->certificate_serial, "aaaa");
  ASSERT_EQ(store_.downloads().size(), 1u);
  EXPECT_EQ(store_.downloads()[0].principal, "alice");
}

TEST_P(StoreContractTest, SignedRecordDownloadIsFalseOnceTheAccessKeyIsRevoked) {
  store_.insert_access_key("alice", access_key_id(1), kSealed, kNow, kNow + 3600);
  ASSERT_TRUE(store_.revoke_access_key(access_key_id(1), kNow + 5));
  // The live token does not stand in for the revoked key.
  EXPECT_FALSE(store_.record_download(signed_commit_for(cluster_.id, "alice", access_key_id(1), "aaaa")));
  EXPECT_FALSE(downloaded(cluster_.id));
  EXPECT_TRUE(store_.downloads().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::ValuesIn(testing::test_backends()),
                         testing::BackendName());

}  // namespace
}  // namespace clusteraccess
