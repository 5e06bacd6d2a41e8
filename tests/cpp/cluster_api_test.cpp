// The cluster API (docs/contract.md, Cluster API): registration rules, the
// caller's rules 1-3 on every call, the list's pages.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

ClusterRegistration valid_registration(std::string name = "attached-one") {
  ClusterRegistration r;
  r.kind = "Cluster";
  r.api_version = "v1";
  r.name = std::move(name);
  r.category = "attachedcluster";
  r.type = "privatek8s";
  r.country = "CN";
  r.city = "110000";
  return r;
}

class ClusterApiTest : public ::testing::Test {
 protected:
  ClusterApiTest() : registry_(dir_.file("state.db")) {
    alice_ = Credentials{registry_.create_token("alice", 3600s)};
    bob_ = Credentials{registry_.create_token("bob", 3600s)};
  }

  // `registration` is refused with 400 naming `field`, and nothing is stored.
  void expect_refused(const ClusterRegistration& registration, const std::string& field) {
    const Error error = testing::error_of([&] { registry_.register_cluster(alice_, registration); });
    EXPECT_EQ(error.http_status(), 400) << field << ": " << error.what();
    EXPECT_EQ(error.code(), "UCS.01000011");
    EXPECT_NE(error.message().find("Bad parameter value: " + field + " "), std::string::npos)
        << field << ": " << error.message();
    EXPECT_TRUE(registry_.clusters().empty()) << field;
  }

  TempDir dir_;
  Registry registry_;
  Credentials alice_;
  Credentials bob_;
};

TEST_F(ClusterApiTest, RegisterStoresEveryFieldAndGrantsTheCaller) {
  ClusterRegistration r = valid_registration();
  r.labels = {{"env", "prod"}, {"example.com/team", "a_b.c"}, {"empty", ""}};
  r.annotations = {{"clusteraccess/network", "private"}, {"note", "any text, even spaces"}};
  r.provider = "aws";
  r.cluster_group_id = "fleet-1";
  const ClusterId id = registry_.register_cluster(alice_, r);
  const Cluster c = registry_.show_cluster(alice_, id.str());
  EXPECT_EQ(c.name, "attached-one");
  EXPECT_EQ(c.category, ClusterCategory::kAttached);
  EXPECT_EQ(c.type, "privatek8s");
  EXPECT_EQ(c.cloud_provider, "aws");
  EXPECT_EQ(c.network, AccessNetwork::kPrivate);
  EXPECT_EQ(c.labels.size(), 3u);
  EXPECT_EQ(c.labels.at("example.com/team"), "a_b.c");
  EXPECT_EQ(c.annotations.size(), 1u) << "the network is kept as the network";
  EXPECT_EQ(c.country, "CN");
  EXPECT_EQ(c.city, "110000");
  EXPECT_EQ(c.manage_type, ManageType::kGrouped) << "a fleet makes it grouped";
  EXPECT_EQ(c.cluster_group_id, "fleet-1");
  EXPECT_EQ(c.phase, ClusterPhase::kPending);
  EXPECT_FALSE(c.is_downloaded_cert());
  EXPECT_EQ(c.created_at, c.updated_at);
  EXPECT_CA_ERROR(registry_.show_cluster(bob_, id.str()), 403, "UCS.01000004");
}

TEST_F(ClusterApiTest, MinimalRegistrationDefaultsToPublicAndDiscrete) {
  ClusterRegistration r;
  r.kind = "Cluster";
  r.api_version = "v1";
  r.name = "minimal";
  r.category = "attachedcluster";
  r.type = "privatek8s";
  const Cluster c = registry_.show_cluster(alice_, registry_.register_cluster(alice_, r).str());
  EXPECT_EQ(c.network, AccessNetwork::kPublic);
  EXPECT_EQ(c.manage_type, ManageType::kDiscrete);
  EXPECT_EQ(c.cloud_provider, "");
}

TEST_F(ClusterApiTest, EveryBadFieldIsA400NamingItAndStoresNothing) {
  using Change = std::function<void(ClusterRegistration&)>;
  const std::vector<std::pair<std::string, Change>> cases = {
      {"kind", [](auto& r) { r.kind.reset(); }},
      {"kind", [](auto& r) { r.kind = "Pod"; }},
      {"apiVersion", [](auto& r) { r.api_version.reset(); }},
      {"apiVersion", [](auto& r) { r.api_version = "v2"; }},
      {"metadata.uid", [](auto& r) { r.uid = "NOT-A-UUID"; }},
      {"metadata.name", [](auto& r) { r.name.reset(); }},
      {"metadata.name", [](auto& r) { r.name = "Bad_Name"; }},
      {"metadata.labels", [](auto& r) { r.labels = {{"bad key!", "v"}}; }},
      {"metadata.labels", [](auto& r) { r.labels = {{"k", "bad value!"}}; }},
      {"metadata.labels", [](auto& r) { r.labels = {{"k", std::string(64, 'a')}}; }},
      {"metadata.labels", [](auto& r) { r.labels = {{"Bad.Prefix/k", "v"}}; }},
      {"metadata.labels", [](auto& r) { r.labels = {{"k", "v"}, {"k", "w"}}; }},
      {"metadata.labels",
       [](auto& r) {
         for (int i = 0; i < 65; ++i) r.labels.emplace_back("k" + std::to_string(i), "v");
       }},
      {"metadata.annotations.kubeconfig", [](auto& r) { r.annotations = {{"kubeconfig", "apiVersion: v1"}}; }},
      {"metadata.annotations.clusteraccess/network", [](auto& r) { r.annotations = {{"clusteraccess/network", "vpn"}}; }},
      {"metadata.annotations", [](auto& r) { r.annotations = {{"bad key!", "v"}}; }},
      {"metadata.annotations", [](auto& r) { r.annotations = {{"a", std::string(70000, 'x')}}; }},
      {"metadata.annotations",
       [](auto& r) {
         for (int i = 0; i < 65; ++i) r.annotations.emplace_back("k" + std::to_string(i), "v");
       }},
      {"spec.category", [](auto& r) { r.category.reset(); }},
      {"spec.category", [](auto& r) { r.category = "AttachedCluster"; }},
      {"spec.type", [](auto& r) { r.type.reset(); }},
      {"spec.type", [](auto& r) { r.type = "baremetal"; }},
      {"spec.type", [](auto& r) { r.category = "self"; }},  // privatek8s is not a CCE type
      {"spec.provider", [](auto& r) { r.provider = "digitalocean"; }},
      {"spec.provider", [](auto& r) { r.type = "eks"; r.provider = "azure"; }},
      {"spec.provider", [](auto& r) { r.category = "self"; r.type = "cce"; r.provider = "aws"; }},
      {"spec.country", [](auto& r) { r.country = "china"; }},
      {"spec.city", [](auto& r) { r.city = "Bei jing"; }},
      {"spec.manageType", [](auto& r) { r.manage_type = "both"; }},
      {"spec.manageType", [](auto& r) { r.manage_type = "discrete"; r.cluster_group_id = "fleet"; }},
      {"spec.clusterGroupID", [](auto& r) { r.manage_type = "grouped"; }},
      {"spec.clusterGroupID", [](auto& r) { r.cluster_group_id = "bad id!"; }},
      {"metadata.labels", [](auto& r) { r.mistyped = {"metadata.labels"}; }},
      {"spec.city", [](auto& r) { r.mistyped = {"spec.city"}; }},
  };
  for (const auto& [field, change] : cases) {
    ClusterRegistration r = valid_registration();
    change(r);
    expect_refused(r, field);
  }
}

TEST_F(ClusterApiTest, TheCatalogueAcceptsItsRows) {
  int n = 0;
  const auto accepted = [&](const char* category, const char* type, std::optional<std::string> provider) {
    ClusterRegistration r = valid_registration("row-" + std::to_string(n++));
    r.category = category;
    r.type = type;
    r.provider = std::move(provider);
    EXPECT_NO_THROW(registry_.register_cluster(alice_, r)) << category << "/" << type;
  };
  accepted("self", "cce", "huaweicloud");
  accepted("self", "turbo", std::nullopt);
  accepted("attachedcluster", "privatek8s", std::nullopt);
  for (const char* provider : {"aws", "azure", "aliyun", "googlecloud", "tencentcloud", "openshift",
                               "huaweicloud", "privatek8s"}) {
    accepted("attachedcluster", "privatek8s", provider);
  }
  accepted("attachedcluster", "eks", "aws");
  accepted("attachedcluster", "aks", "azure");
  accepted("attachedcluster", "gke", "googlecloud");
  accepted("attachedcluster", "ack", "aliyun");
  accepted("attachedcluster", "tke", "tencentcloud");
  accepted("attachedcluster", "openshift", "openshift");
}

TEST_F(ClusterApiTest, TheOriginalVocabularyMapsOntoTypeAndProvider) {
  ClusterSpec spec;
  spec.name = "legacy";
  spec.provider = "gke";
  const Cluster c = registry_.cluster(registry_.register_cluster(spec));
  EXPECT_EQ(c.provider, "gke");
  EXPECT_EQ(c.type, "gke");
  EXPECT_EQ(c.cloud_provider, "googlecloud");
}

TEST_F(ClusterApiTest, EveryCallJudgesTheCallerAsRulesOneToThree) {
  const ClusterId id = registry_.register_cluster(alice_, valid_registration());
  const ClusterId unknown = ClusterId::generate();
  const std::vector<std::pair<std::string, std::function<void(const Credentials&, const std::string&)>>> calls = {
      {"show", [&](const Credentials& c, const std::string& i) { registry_.show_cluster(c, i); }},
      {"delete", [&](const Credentials& c, const std::string& i) { registry_.delete_cluster(c, i); }},
      {"reactivate", [&](const Credentials& c, const std::string& i) { registry_.reactivate(c, i); }},
  };
  const std::string forbidden = Error::cluster_forbidden().message();
  for (const auto& [name, call] : calls) {
    SCOPED_TRACE(name);
    EXPECT_CA_ERROR(call(Credentials{}, id.str()), 403, "UCS.01000004");
    EXPECT_CA_ERROR(call(Credentials{"cat_not-a-token"}, id.str()), 403, "UCS.01000004");
    EXPECT_CA_ERROR(call(Credentials{"cat_not-a-token"}, "bad"), 403, "UCS.01000004");  // rule 1 first
    EXPECT_CA_ERROR(call(alice_, "BAD"), 400, "UCS.01000011");
    const Error not_granted = testing::error_of([&] { call(bob_, id.str()); });
    const Error absent = testing::error_of([&] { call(alice_, unknown.str()); });
    EXPECT_EQ(not_granted.http_status(), 403);
    EXPECT_EQ(not_granted.message(), forbidden);
    EXPECT_EQ(absent.to_json(), not_granted.to_json()) << "one body for unknown and not granted";
  }
  EXPECT_CA_ERROR(registry_.register_cluster(Credentials{}, valid_registration("other")), 403, "UCS.01000004");
  EXPECT_CA_ERROR(registry_.list_clusters(Credentials{"cat_x"}), 403, "UCS.01000004");
  EXPECT_EQ(registry_.show_cluster(alice_, id.str()).phase, ClusterPhase::kPending) << "nothing changed";
}

TEST_F(ClusterApiTest, ARevokedOrExpiredTokenIsRefused) {
  const std::string token = registry_.create_token("carol", 3600s);
  registry_.revoke_token(token);
  EXPECT_CA_ERROR(registry_.list_clusters(Credentials{token}), 403, "UCS.01000004");
}

TEST_F(ClusterApiTest, ListShowsOnlyGrantedClustersInPages) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(registry_.register_cluster(alice_, valid_registration("mine-" + std::to_string(i))).str());
  registry_.register_cluster(bob_, valid_registration("bobs-one"));
  std::sort(ids.begin(), ids.end());

  const ClusterPage all = registry_.list_clusters(alice_);
  EXPECT_EQ(all.total, 5);
  ASSERT_EQ(all.items.size(), 5u);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(all.items[i].id.str(), ids[i]) << "ordered by id";

  const ClusterPage page = registry_.list_clusters(alice_, 2, 3);
  EXPECT_EQ(page.total, 5);
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].id.str(), ids[3]);
  EXPECT_TRUE(registry_.list_clusters(alice_, 10, 5).items.empty());
  EXPECT_EQ(registry_.list_clusters(bob_).total, 1);

  EXPECT_CA_ERROR(registry_.list_clusters(alice_, 0, 0), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry_.list_clusters(alice_, 1001, 0), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry_.list_clusters(alice_, -2, 0), 400, "UCS.01000011");
  EXPECT_CA_ERROR(registry_.list_clusters(alice_, 10, -1), 400, "UCS.01000011");
  EXPECT_EQ(registry_.list_clusters(alice_, Registry::kMaxPageSize, 0).items.size(), 5u);
}

TEST_F(ClusterApiTest, DeleteAndReactivateThroughTheApi) {
  const ClusterId id = registry_.register_cluster(alice_, valid_registration());
  registry_.reactivate(alice_, id.str());
  const auto events = registry_.events(id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, LifecycleEventKind::kActivation);
  EXPECT_EQ(events[0].principal, "alice");
  registry_.delete_cluster(alice_, id.str());
  EXPECT_CA_ERROR(registry_.show_cluster(alice_, id.str()), 403, "UCS.01000004");
  EXPECT_EQ(registry_.list_clusters(alice_).total, 0);
  ClusterRegistration again = valid_registration();
  again.uid = id.str();
  EXPECT_CA_ERROR(registry_.register_cluster(alice_, again), 409, "UCS.01000006");
  EXPECT_EQ(registry_.events(id).back().principal, "alice");
}

TEST_F(ClusterApiTest, RegisteringATakenNameIsA409) {
  registry_.register_cluster(alice_, valid_registration("twin"));
  EXPECT_CA_ERROR(registry_.register_cluster(bob_, valid_registration("twin")), 409, "UCS.01000006");
  EXPECT_EQ(registry_.list_clusters(bob_).total, 0);
}

}  // namespace
}  // namespace clusteraccess
