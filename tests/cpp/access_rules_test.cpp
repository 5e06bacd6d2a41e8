// The rules table of docs/contract.md, row by row and in order, through Registry::access_info.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "fault_injection.hpp"
#include "backend_support.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
using testing::ManualClock;

constexpr const char* kForbidden = "UCS.01000004";
constexpr const char* kBadParameter = "UCS.01000011";
constexpr const char* kCategoryNotSupported = "UCS.01030011";

using Opt = std::optional<std::string>;
const Opt kNone = std::nullopt;

RegistryOptions options_with(const ManualClock& clock) {
  RegistryOptions options;
  options.clock = clock.function();
  return options;
}

// Every rule, on every backend (SQLite in memory, and PostgreSQL).
class AccessRules : public ::testing::TestWithParam<std::string> {
 protected:
  AccessRules()
      : location_(GetParam(), /*in_memory=*/true),
        registry_(location_.location(), location_.registry_options(options_with(clock_))) {
    registry_.set_public_endpoint("proxy.example.com", 30123);
    registry_.add_region("eu-de", "proxy.eu-de.example.com", 30124);
    public_id_ = registry_.register_cluster(spec("public-one", ClusterCategory::kAttached, "eks",
                                                 AccessNetwork::kPublic));
    private_id_ = registry_.register_cluster(spec("private-one", ClusterCategory::kAttached, "aks",
                                                  AccessNetwork::kPrivate));
    cce_id_ = registry_.register_cluster(spec("cce-one", ClusterCategory::kCce, "cce", AccessNetwork::kPublic));
    alice_ = registry_.create_token("alice", 3600s);
    bob_ = registry_.create_token("bob", 3600s);
    carol_ = registry_.create_token("carol", 3600s);
    for (const ClusterId& id : {public_id_, private_id_, cce_id_}) registry_.grant("alice", id);
    registry_.grant("carol", public_id_);
  }

  static ClusterSpec spec(std::string name, ClusterCategory category, std::string provider,
                          AccessNetwork network) {
    ClusterSpec s;
    s.name = std::move(name);
    s.category = category;
    s.provider = std::move(provider);
    s.network = network;
    return s;
  }

  AccessInfo call(const std::string& cluster_id, const Opt& token, const Opt& vpcendpoint = kNone,
                  const Opt& region = kNone) {
    return registry_.access_info(AccessRequest{cluster_id, token, vpcendpoint, region});
  }

  Error failure(const std::string& cluster_id, const Opt& token, const Opt& vpcendpoint = kNone,
                const Opt& region = kNone) {
    return error_of([&] { call(cluster_id, token, vpcendpoint, region); });
  }

  void expect_failure(const Error& error, int status, const std::string& code,
                      const std::string& parameter = {}) {
    EXPECT_EQ(error.http_status(), status) << error.what();
    EXPECT_EQ(error.code(), code) << error.what();
    if (!parameter.empty()) {
      EXPECT_NE(error.message().find(parameter), std::string::npos)
          << "message does not name " << parameter << ": " << error.message();
    }
  }

  void expect_nothing_recorded() {
    EXPECT_TRUE(registry_.downloads().empty());
    for (const Cluster& cluster : registry_.clusters()) {
      EXPECT_FALSE(cluster.downloaded_at.has_value()) << cluster.name;
      EXPECT_FALSE(cluster.certificate_serial.has_value()) << cluster.name;
    }
  }

  static void expect_downloaded(const AccessInfo& info) {
    EXPECT_FALSE(info.is_first_download());
    EXPECT_FALSE(info.certificate_serial.has_value());
    EXPECT_EQ(info.documents, std::vector<std::string>{"Downloaded"});
  }

  ManualClock clock_;
  testing::TestLocation location_;
  Registry registry_;
  ClusterId public_id_ = ClusterId::generate();
  ClusterId private_id_ = ClusterId::generate();
  ClusterId cce_id_ = ClusterId::generate();
  std::string alice_;
  std::string bob_;
  std::string carol_;
};

// --- step 1: a live token ----------------------------------------------------

TEST_P(AccessRules, MissingTokenIs403) {
  expect_failure(failure(public_id_.str(), kNone), 403, kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, EmptyTokenIs403) {
  expect_failure(failure(public_id_.str(), std::string()), 403, kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, UnknownTokenIs403) {
  expect_failure(failure(public_id_.str(), std::string("cat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")), 403,
                 kForbidden);
  expect_failure(failure(public_id_.str(), alice_ + "x"), 403, kForbidden);
  expect_failure(failure(public_id_.str(), alice_.substr(0, alice_.size() - 1)), 403, kForbidden);
  expect_failure(failure(public_id_.str(), alice_ + std::string(1, '\0')), 403, kForbidden);
  expect_failure(failure(public_id_.str(), " " + alice_), 403, kForbidden);
  expect_failure(failure(public_id_.str(), std::string(100000, 'a')), 403, kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, ExpiredTokenIs403) {
  // Valid for 3600 s from its creation: live one second before, dead at the end.
  clock_.advance(3600);
  expect_failure(failure(public_id_.str(), alice_), 403, kForbidden);
  clock_.advance(1'000'000);
  expect_failure(failure(public_id_.str(), alice_), 403, kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, TokenIsLiveUntilItsLastSecond) {
  clock_.advance(3599);
  EXPECT_TRUE(call(public_id_.str(), alice_).is_first_download());
}

TEST_P(AccessRules, RevokedTokenIs403) {
  registry_.revoke_token(alice_);
  expect_failure(failure(public_id_.str(), alice_), 403, kForbidden);
  expect_nothing_recorded();
  // Other tokens of other principals are unaffected.
  EXPECT_TRUE(call(public_id_.str(), carol_).is_first_download());
}

TEST_P(AccessRules, RevokingOneTokenLeavesThePrincipalsOtherTokensLive) {
  const std::string second = registry_.create_token("alice", 60s);
  registry_.revoke_token(alice_);
  EXPECT_TRUE(call(public_id_.str(), second).is_first_download());
}

TEST_P(AccessRules, TokenErrorsShareOneBody) {
  const std::string missing = failure(public_id_.str(), kNone).to_json();
  EXPECT_EQ(failure(public_id_.str(), std::string("cat_nope")).to_json(), missing);
  registry_.revoke_token(bob_);
  EXPECT_EQ(failure(public_id_.str(), bob_).to_json(), missing);
  clock_.advance(3600);
  EXPECT_EQ(failure(public_id_.str(), alice_).to_json(), missing);
}

// --- step 2: a Kubernetes UUID ----------------------------------------------------

TEST_P(AccessRules, BadClusterIdWithValidTokenIs400NamingClusterid) {
  std::string upper = public_id_.str();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string bare = public_id_.str();
  bare.erase(std::remove(bare.begin(), bare.end(), '-'), bare.end());
  for (const std::string& bad : {upper, bare, "{" + public_id_.str() + "}", "urn:uuid:" + public_id_.str(),
                                 public_id_.str() + " ", std::string(), std::string("..%2f..%2fetc"),
                                 public_id_.str().substr(0, 35)}) {
    expect_failure(failure(bad, alice_), 400, kBadParameter, "clusterid");
  }
  expect_nothing_recorded();
}

TEST_P(AccessRules, BadClusterIdWithBadTokenIs403TokenComesFirst) {
  expect_failure(failure("not-a-uuid", kNone), 403, kForbidden);
  expect_failure(failure("not-a-uuid", std::string("cat_nope")), 403, kForbidden);
  registry_.revoke_token(bob_);
  expect_failure(failure("NOT-A-UUID", bob_), 403, kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, BadClusterIdIs400EvenWithBadNetworkParameters) {
  expect_failure(failure("not-a-uuid", alice_, std::string("hostname"), std::string("nowhere")), 400,
                 kBadParameter, "clusterid");
}

// --- step 3: existence and permission ---------------------------------------------

TEST_P(AccessRules, UnknownClusterIs403) {
  expect_failure(failure(ClusterId::generate().str(), alice_), 403, kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, ClusterWithoutGrantIs403) {
  expect_failure(failure(public_id_.str(), bob_), 403, kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, UnknownClusterAndMissingGrantGiveIdenticalBodies) {
  const Error unknown = failure(ClusterId::generate().str(), bob_);
  const Error not_granted = failure(public_id_.str(), bob_);
  EXPECT_EQ(unknown.http_status(), not_granted.http_status());
  EXPECT_EQ(unknown.code(), not_granted.code());
  EXPECT_EQ(unknown.message(), not_granted.message());
  EXPECT_EQ(unknown.to_json(), not_granted.to_json());
  EXPECT_STREQ(unknown.what(), not_granted.what());
  // Also for the other cluster kinds, and for a grant that was withdrawn.
  EXPECT_EQ(failure(private_id_.str(), bob_).to_json(), unknown.to_json());
  EXPECT_EQ(failure(cce_id_.str(), bob_).to_json(), unknown.to_json());
  registry_.revoke_grant("alice", public_id_);
  EXPECT_EQ(failure(public_id_.str(), alice_).to_json(), unknown.to_json());
  expect_nothing_recorded();
}

TEST_P(AccessRules, UnknownClusterIs403BeforeParametersAreJudged) {
  // A caller cannot learn a cluster's network or category without a grant.
  const std::string body = failure(ClusterId::generate().str(), bob_).to_json();
  EXPECT_EQ(failure(private_id_.str(), bob_).to_json(), body);
  EXPECT_EQ(failure(public_id_.str(), bob_, std::string("10.0.0.1"), std::string("eu-de")).to_json(), body);
  EXPECT_EQ(failure(cce_id_.str(), bob_, std::string("hostname")).to_json(), body);
}

TEST_P(AccessRules, WithdrawnGrantIs403AndRecordsNothing) {
  registry_.revoke_grant("alice", public_id_);
  expect_failure(failure(public_id_.str(), alice_), 403, kForbidden);
  expect_nothing_recorded();
  registry_.grant("alice", public_id_);
  EXPECT_TRUE(call(public_id_.str(), alice_).is_first_download());
}

// --- step 4: a third-party cluster ----------------------------------------------------

TEST_P(AccessRules, CceClusterIs400CategoryNotSupported) {
  expect_failure(failure(cce_id_.str(), alice_), 400, kCategoryNotSupported);
  expect_nothing_recorded();
}

TEST_P(AccessRules, CceClusterIs400CategoryNotSupportedBeforeParametersAreJudged) {
  expect_failure(failure(cce_id_.str(), alice_, std::string("hostname"), std::string("nowhere")), 400,
                 kCategoryNotSupported);
  expect_nothing_recorded();
}

// --- step 5: network parameters ------------------------------------------------------------

TEST_P(AccessRules, PrivateClusterWithoutVpcendpointIs400) {
  expect_failure(failure(private_id_.str(), alice_, kNone, std::string("eu-de")), 400, kBadParameter,
                 "vpcendpoint");
  expect_failure(failure(private_id_.str(), alice_, std::string(), std::string("eu-de")), 400, kBadParameter,
                 "vpcendpoint");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithNeitherParameterNamesVpcendpoint) {
  expect_failure(failure(private_id_.str(), alice_), 400, kBadParameter, "vpcendpoint");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithoutRegionIs400) {
  expect_failure(failure(private_id_.str(), alice_, std::string("10.0.0.1")), 400, kBadParameter, "region");
  expect_failure(failure(private_id_.str(), alice_, std::string("10.0.0.1"), std::string()), 400, kBadParameter,
                 "region");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithHostnameVpcendpointIs400) {
  expect_failure(failure(private_id_.str(), alice_, std::string("vpcep.example.com"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_failure(failure(private_id_.str(), alice_, std::string("localhost"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithCidrVpcendpointIs400) {
  expect_failure(failure(private_id_.str(), alice_, std::string("10.0.0.0/24"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_failure(failure(private_id_.str(), alice_, std::string("10.0.0.1/32"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_failure(failure(private_id_.str(), alice_, std::string("2001:db8::/64"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithAddressAndPortIs400) {
  expect_failure(failure(private_id_.str(), alice_, std::string("1.2.3.4:80"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithBracketedIpv6Is400) {
  expect_failure(failure(private_id_.str(), alice_, std::string("[2001:db8::1]"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_failure(failure(private_id_.str(), alice_, std::string("[2001:db8::1]:443"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithOtherNonUnicastOrMalformedVpcendpointIs400) {
  for (const std::string& bad :
       {std::string("127.0.0.1"), std::string("0.0.0.0"), std::string("255.255.255.255"), std::string("224.0.0.1"),
        std::string("::1"), std::string("::"), std::string("fe80::1"), std::string("fe80::1%eth0"),
        std::string("ff02::1"), std::string("010.0.0.1"), std::string("10.0.0"), std::string(" 10.0.0.1"),
        std::string("10.0.0.1\n"), std::string("10.0.0.1\"\n  evil: x"), std::string("http://10.0.0.1")}) {
    const Error error = failure(private_id_.str(), alice_, bad, std::string("eu-de"));
    expect_failure(error, 400, kBadParameter, "vpcendpoint");
    if (bad.size() > 3) {
      EXPECT_EQ(error.message().find(bad), std::string::npos) << "value echoed: " << bad;
    }
  }
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithUnknownRegionIs400) {
  expect_failure(failure(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("xx-nowhere-1")), 400,
                 kBadParameter, "region");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PrivateClusterWithMalformedRegionIs400) {
  for (const std::string& bad : {std::string("EU-DE"), std::string("eu-de "), std::string("eu-de\n"),
                                 std::string("eu-de\"\n  evil: x"), std::string(64, 'a'), std::string("eu_de"),
                                 std::string("eu-de\0x", 7)}) {
    const Error error = failure(private_id_.str(), alice_, std::string("10.0.0.1"), bad);
    expect_failure(error, 400, kBadParameter, "region");
    EXPECT_EQ(error.message().find("evil"), std::string::npos) << error.message();
  }
  expect_nothing_recorded();
}

TEST_P(AccessRules, PublicClusterGivenVpcendpointIs400) {
  expect_failure(failure(public_id_.str(), alice_, std::string("10.0.0.1")), 400, kBadParameter, "vpcendpoint");
  expect_failure(failure(public_id_.str(), alice_, std::string("10.0.0.1"), std::string("eu-de")), 400,
                 kBadParameter, "vpcendpoint");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PublicClusterGivenRegionIs400) {
  expect_failure(failure(public_id_.str(), alice_, kNone, std::string("eu-de")), 400, kBadParameter, "region");
  expect_failure(failure(public_id_.str(), alice_, std::string(), std::string("eu-de")), 400, kBadParameter,
                 "region");
  expect_nothing_recorded();
}

TEST_P(AccessRules, PublicClusterTakesEmptyParametersAsNotGiven) {
  EXPECT_TRUE(call(public_id_.str(), alice_, std::string(), std::string()).is_first_download());
}

// --- step 6: the first download ---------------------------------------------------------------

TEST_P(AccessRules, FirstCallReturnsTheDocumentsWithTheKeyAndSerial) {
  clock_.advance(42);
  const AccessInfo info = call(public_id_.str(), alice_);
  ASSERT_TRUE(info.is_first_download());
  ASSERT_TRUE(info.certificate_serial.has_value());
  EXPECT_FALSE(info.certificate_serial->empty());
  EXPECT_EQ(info.certificate_serial->find_first_not_of("0123456789abcdef"), std::string::npos);
  ASSERT_GE(info.documents.size(), 2u);
  const std::string& secret = info.documents[0];
  EXPECT_NE(secret.find("kind: Secret"), std::string::npos);
  EXPECT_NE(secret.find("name: proxy-agent-cert"), std::string::npos);
  const auto key = testing::yaml_quoted_value(secret, "proxy-agent.key");
  ASSERT_TRUE(key.has_value());
  EXPECT_GT(key->size(), 100u);
  ASSERT_TRUE(testing::yaml_quoted_value(secret, "ca.crt").has_value());
  ASSERT_TRUE(testing::yaml_quoted_value(secret, "proxy-agent.crt").has_value());
  const std::string& deployment = info.documents[1];
  EXPECT_NE(deployment.find("kind: Deployment"), std::string::npos);
  EXPECT_NE(deployment.find("--agent-id=" + public_id_.str()), std::string::npos);
  EXPECT_NE(deployment.find("--proxy-server-host=proxy.example.com"), std::string::npos);
  EXPECT_NE(deployment.find("--proxy-server-port=30123"), std::string::npos);
  EXPECT_EQ(deployment.find("hostAliases"), std::string::npos);

  // Recorded with it: the cluster and the audit record.
  const Cluster cluster = registry_.cluster(public_id_);
  EXPECT_EQ(cluster.downloaded_at, clock_.now());
  EXPECT_EQ(cluster.certificate_serial, info.certificate_serial);
  const auto downloads = registry_.downloads();
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].cluster_id, public_id_);
  EXPECT_EQ(downloads[0].principal, "alice");
  EXPECT_EQ(downloads[0].downloaded_at, clock_.now());
  EXPECT_EQ(downloads[0].certificate_serial, *info.certificate_serial);
  EXPECT_EQ(downloads[0].network, AccessNetwork::kPublic);
  EXPECT_FALSE(downloads[0].region.has_value());
  EXPECT_FALSE(downloads[0].vpcendpoint.has_value());
}

TEST_P(AccessRules, PrivateFirstDownloadCarriesAndRecordsTheEndpointAndRegion) {
  const AccessInfo info = call(private_id_.str(), alice_, std::string("10.1.2.3"), std::string("eu-de"));
  ASSERT_TRUE(info.is_first_download());
  ASSERT_GE(info.documents.size(), 2u);
  const std::string& deployment = info.documents[1];
  EXPECT_NE(deployment.find("hostAliases"), std::string::npos);
  EXPECT_NE(deployment.find("\"10.1.2.3\""), std::string::npos);
  EXPECT_NE(deployment.find("proxy.eu-de.example.com"), std::string::npos);
  EXPECT_NE(deployment.find("--proxy-server-port=30124"), std::string::npos);
  const auto downloads = registry_.downloads();
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].network, AccessNetwork::kPrivate);
  EXPECT_EQ(downloads[0].region, "eu-de");
  EXPECT_EQ(downloads[0].vpcendpoint, "10.1.2.3");
}

TEST_P(AccessRules, PrivateIpv6EndpointIsRecordedInCanonicalForm) {
  const AccessInfo info = call(private_id_.str(), alice_, std::string("2001:DB8:0:0:0:0:0:A"), std::string("eu-de"));
  ASSERT_TRUE(info.is_first_download());
  EXPECT_NE(info.documents[1].find("\"2001:db8::a\""), std::string::npos);
  const auto downloads = registry_.downloads();
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].vpcendpoint, "2001:db8::a");
}

TEST_P(AccessRules, PrivateClusterDoesNotNeedThePublicEndpoint) {
  Registry registry(":memory:", options_with(clock_));
  registry.add_region("eu-de", "proxy.eu-de.example.com", 30124);
  const ClusterId id =
      registry.register_cluster(spec("private-two", ClusterCategory::kAttached, "gke", AccessNetwork::kPrivate));
  const std::string token = registry.create_token("dave", 60s);
  registry.grant("dave", id);
  EXPECT_TRUE(registry.access_info(AccessRequest{id.str(), token, std::string("10.0.0.1"), std::string("eu-de")})
                  .is_first_download());
}

// --- step 7: every later call -------------------------------------------------------------------

TEST_P(AccessRules, SecondCallReturnsDownloadedWithoutSerial) {
  const AccessInfo first = call(public_id_.str(), alice_);
  ASSERT_TRUE(first.is_first_download());
  clock_.advance(10);
  const AccessInfo second = call(public_id_.str(), alice_);
  expect_downloaded(second);
  // Nothing changed by the second call.
  const Cluster cluster = registry_.cluster(public_id_);
  EXPECT_EQ(cluster.certificate_serial, first.certificate_serial);
  EXPECT_EQ(cluster.downloaded_at, clock_.now() - 10);
  EXPECT_EQ(registry_.downloads().size(), 1u);
}

TEST_P(AccessRules, LaterCallByAnotherGrantedPrincipalIsDownloaded) {
  ASSERT_TRUE(call(public_id_.str(), alice_).is_first_download());
  expect_downloaded(call(public_id_.str(), carol_));
  EXPECT_EQ(registry_.downloads().size(), 1u);
  EXPECT_EQ(registry_.downloads()[0].principal, "alice");
}

TEST_P(AccessRules, PrivateSecondCallWithOtherValidParametersIsDownloaded) {
  registry_.add_region("eu-nl", "proxy.eu-nl.example.com", 443);
  ASSERT_TRUE(call(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("eu-de")).is_first_download());
  expect_downloaded(call(private_id_.str(), alice_, std::string("10.0.0.2"), std::string("eu-nl")));
  ASSERT_EQ(registry_.downloads().size(), 1u);
  EXPECT_EQ(registry_.downloads()[0].vpcendpoint, "10.0.0.1");
}

TEST_P(AccessRules, LaterCallsStillJudgeSteps1To5) {
  ASSERT_TRUE(call(public_id_.str(), alice_).is_first_download());
  ASSERT_TRUE(call(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("eu-de")).is_first_download());
  expect_failure(failure(public_id_.str(), kNone), 403, kForbidden);
  expect_failure(failure(public_id_.str(), bob_), 403, kForbidden);
  expect_failure(failure(public_id_.str(), alice_, std::string("10.0.0.1")), 400, kBadParameter, "vpcendpoint");
  expect_failure(failure(private_id_.str(), alice_), 400, kBadParameter, "vpcendpoint");
  expect_failure(failure(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("nowhere")), 400,
                 kBadParameter, "region");
  clock_.advance(3600);
  expect_failure(failure(public_id_.str(), alice_), 403, kForbidden);
  EXPECT_EQ(registry_.downloads().size(), 2u);
}

TEST_P(AccessRules, EachClusterIsDownloadedOnceIndependently) {
  const AccessInfo a = call(public_id_.str(), alice_);
  const AccessInfo b = call(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("eu-de"));
  ASSERT_TRUE(a.is_first_download());
  ASSERT_TRUE(b.is_first_download());
  EXPECT_NE(*a.certificate_serial, *b.certificate_serial);
  EXPECT_NE(testing::yaml_quoted_value(a.documents[0], "proxy-agent.key"),
            testing::yaml_quoted_value(b.documents[0], "proxy-agent.key"));
  EXPECT_EQ(registry_.downloads().size(), 2u);
}

// --- failures record nothing ----------------------------------------------------------------------

TEST_P(AccessRules, FailingCallsRecordNothing) {
  failure(public_id_.str(), kNone);
  failure("bad", alice_);
  failure(public_id_.str(), bob_);
  failure(cce_id_.str(), alice_);
  failure(public_id_.str(), alice_, std::string("10.0.0.1"));
  failure(private_id_.str(), alice_, std::string("1.2.3.4:80"), std::string("eu-de"));
  failure(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("nowhere"));
  expect_nothing_recorded();
  // And the clusters are still downloadable afterwards.
  EXPECT_TRUE(call(public_id_.str(), alice_).is_first_download());
  EXPECT_TRUE(call(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("eu-de")).is_first_download());
}

TEST_P(AccessRules, PublicClusterWithoutPublicEndpointIs500AndRecordsNothing) {
  Registry registry(":memory:", options_with(clock_));
  const ClusterId id =
      registry.register_cluster(spec("public-two", ClusterCategory::kAttached, "eks", AccessNetwork::kPublic));
  const std::string token = registry.create_token("dave", 60s);
  registry.grant("dave", id);
  const AccessRequest request{id.str(), token, std::nullopt, std::nullopt};
  // Not a certificate failure: the installation lacks a setting, and the
  // message says which one and how to set it. Every try answers the same.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Error error = error_of([&] { registry.access_info(request); });
    EXPECT_EQ(error.http_status(), 500) << error.what();
    EXPECT_EQ(error.code(), "UCS.01000009") << error.what();
    EXPECT_NE(error.message().find("public proxy endpoint"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("set_public_endpoint"), std::string::npos) << error.message();
    const auto answer = registry.try_access_info(request);
    ASSERT_TRUE(std::holds_alternative<Error>(answer));
    EXPECT_EQ(std::get<Error>(answer).to_json(), error.to_json());
  }
  EXPECT_TRUE(registry.downloads().empty());
  EXPECT_FALSE(registry.cluster(id).downloaded_at.has_value());
  EXPECT_FALSE(registry.cluster(id).certificate_serial.has_value());
  // Once configured, the download works, once.
  registry.set_public_endpoint("proxy.example.com", 30123);
  const AccessInfo info = registry.access_info(request);
  EXPECT_TRUE(info.is_first_download());
  EXPECT_NE(info.documents[1].find("--proxy-server-host=proxy.example.com"), std::string::npos);
  EXPECT_EQ(registry.downloads().size(), 1u);
  EXPECT_EQ(registry.access_info(request).documents, std::vector<std::string>{kDownloaded});
  EXPECT_EQ(registry.downloads().size(), 1u);
}

TEST_P(AccessRules, RevokedTokenAfterAFailedCallIs403AndRecordsNothing) {
  // A commit-time revocation cannot be reached through the API; the closest
  // observable: after revoke_token the very next call is refused.
  failure(private_id_.str(), alice_);  // admitted token, refused parameters
  registry_.revoke_token(alice_);
  expect_failure(failure(public_id_.str(), alice_), 403, kForbidden);
  expect_failure(failure(private_id_.str(), alice_, std::string("10.0.0.1"), std::string("eu-de")), 403,
                 kForbidden);
  expect_nothing_recorded();
}

TEST_P(AccessRules, RevokedTokenAfterDownloadIs403) {
  ASSERT_TRUE(call(public_id_.str(), alice_).is_first_download());
  registry_.revoke_token(alice_);
  expect_failure(failure(public_id_.str(), alice_), 403, kForbidden);
  EXPECT_EQ(registry_.downloads().size(), 1u);
}

TEST_P(AccessRules, ErrorMessagesDoNotEchoRequestValues) {
  const std::string marker = "zz-marker-value-zz";
  for (const Error& error :
       {failure(marker, alice_), failure(public_id_.str(), marker), failure(public_id_.str(), alice_, marker),
        failure(public_id_.str(), alice_, kNone, marker),
        failure(private_id_.str(), alice_, marker, std::string("eu-de")),
        failure(private_id_.str(), alice_, std::string("10.0.0.1"), marker)}) {
    EXPECT_EQ(error.to_json().find(marker), std::string::npos) << error.to_json();
  }
}

// try_access_info judges by the same rules and returns what access_info throws.
TEST_P(AccessRules, TryAccessInfoReturnsTheErrorsAccessInfoThrows) {
  const std::string public_id = public_id_.str();
  const std::string private_id = private_id_.str();
  const std::vector<AccessRequest> rejected = {
      {public_id, kNone, kNone, kNone},                        // 403 token
      {"NOT-A-UUID", alice_, kNone, kNone},                    // 400 id
      {ClusterId::generate().str(), alice_, kNone, kNone},     // 403 unknown
      {public_id, bob_, kNone, kNone},                         // 403 no grant
      {cce_id_.str(), alice_, kNone, kNone},                   // 400 category
      {private_id, alice_, kNone, Opt("eu-de")},               // 400 vpcendpoint
      {public_id, alice_, Opt("10.0.0.1"), kNone},             // 400 public
  };
  for (const AccessRequest& request : rejected) {
    const Error thrown = error_of([&] { registry_.access_info(request); });
    auto result = registry_.try_access_info(request);
    ASSERT_TRUE(std::holds_alternative<Error>(result)) << request.cluster_id;
    const Error& returned = std::get<Error>(result);
    EXPECT_EQ(returned.http_status(), thrown.http_status()) << request.cluster_id;
    EXPECT_EQ(returned.to_json(), thrown.to_json()) << request.cluster_id;
  }
  EXPECT_TRUE(registry_.downloads().empty());
}

TEST_P(AccessRules, TryAccessInfoDownloadsOnceThenAnswersDownloaded) {
  const AccessRequest request{public_id_.str(), alice_, kNone, kNone};
  auto first = registry_.try_access_info(request);
  ASSERT_TRUE(std::holds_alternative<AccessInfo>(first));
  EXPECT_TRUE(std::get<AccessInfo>(first).is_first_download());
  EXPECT_EQ(std::get<AccessInfo>(first).documents.size(), 2u);

  auto second = registry_.try_access_info(request);
  ASSERT_TRUE(std::holds_alternative<AccessInfo>(second));
  EXPECT_FALSE(std::get<AccessInfo>(second).is_first_download());
  EXPECT_EQ(std::get<AccessInfo>(second).documents, std::vector<std::string>{kDownloaded});
  EXPECT_EQ(registry_.downloads().size(), 1u);
}

// --- judge_access_info: the judgement without the issuing ------------------------

// The judge answers each rejected row of the rules table exactly as
// access_info does, and records nothing.
TEST_P(AccessRules, JudgeGivesTheErrorAccessInfoGivesForEveryRejection) {
  const std::string public_id = public_id_.str();
  const std::string private_id = private_id_.str();
  const std::string expired = registry_.create_token("dave", 60s);
  const std::string revoked = registry_.create_token("erin", 3600s);
  registry_.grant("dave", public_id_);
  registry_.grant("erin", public_id_);
  registry_.revoke_token(revoked);
  clock_.advance(60);
  const std::vector<AccessRequest> rejected = {
      {public_id, kNone, kNone, kNone},                           // 403 no token
      {public_id, Opt("not-a-token"), kNone, kNone},              // 403 unknown token
      {public_id, expired, kNone, kNone},                         // 403 expired token
      {public_id, revoked, kNone, kNone},                         // 403 revoked token
      {"NOT-A-UUID", alice_, kNone, kNone},                       // 400 id
      {ClusterId::generate().str(), alice_, kNone, kNone},        // 403 unknown cluster
      {public_id, bob_, kNone, kNone},                            // 403 no grant
      {cce_id_.str(), alice_, kNone, kNone},                      // 400 category
      {private_id, alice_, kNone, Opt("eu-de")},                  // 400 vpcendpoint missing
      {private_id, alice_, Opt("10.0.0.1"), kNone},               // 400 region missing
      {private_id, alice_, Opt("host.example"), Opt("eu-de")},    // 400 vpcendpoint not an IP
      {private_id, alice_, Opt("10.0.0.1"), Opt("xx-nowhere")},   // 400 unknown region
      {public_id, alice_, Opt("10.0.0.1"), kNone},                // 400 public given vpcendpoint
      {public_id, alice_, kNone, Opt("eu-de")},                   // 400 public given region
  };
  for (const AccessRequest& request : rejected) {
    auto judged = registry_.judge_access_info(request);
    ASSERT_TRUE(std::holds_alternative<Error>(judged)) << request.cluster_id;
    const Error thrown = error_of([&] { registry_.access_info(request); });
    EXPECT_EQ(std::get<Error>(judged).http_status(), thrown.http_status()) << request.cluster_id;
    EXPECT_EQ(std::get<Error>(judged).to_json(), thrown.to_json()) << request.cluster_id;
  }
  expect_nothing_recorded();
}

// "Admitted first download" only for a live token with a grant on an
// attached cluster not yet downloaded, with fitting parameters; judging it
// issues and records nothing, however often; once downloaded, the judge
// answers {"Downloaded"} as access_info does.
TEST_P(AccessRules, JudgeAdmitsOnlyALiveGrantedFirstDownloadAndRecordsNothing) {
  const AccessRequest public_request{public_id_.str(), alice_, kNone, kNone};
  const AccessRequest private_request{private_id_.str(), alice_, Opt("10.0.0.1"), Opt("eu-de")};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::holds_alternative<FirstDownloadAdmitted>(registry_.judge_access_info(public_request)));
    EXPECT_TRUE(std::holds_alternative<FirstDownloadAdmitted>(registry_.judge_access_info(private_request)));
    // Another granted principal is admitted too.
    EXPECT_TRUE(std::holds_alternative<FirstDownloadAdmitted>(
        registry_.judge_access_info(AccessRequest{public_id_.str(), carol_, kNone, kNone})));
  }
  expect_nothing_recorded();

  EXPECT_TRUE(call(public_id_.str(), alice_).is_first_download());
  for (const AccessRequest& request : {AccessRequest{public_id_.str(), alice_, kNone, kNone},
                                       AccessRequest{public_id_.str(), carol_, kNone, kNone}}) {
    auto judged = registry_.judge_access_info(request);
    ASSERT_TRUE(std::holds_alternative<AccessInfo>(judged));
    expect_downloaded(std::get<AccessInfo>(judged));
    expect_downloaded(registry_.access_info(request));
  }
  // The private cluster is still admitted; a principal without a grant on the
  // downloaded cluster gets the body of an unknown cluster.
  EXPECT_TRUE(std::holds_alternative<FirstDownloadAdmitted>(registry_.judge_access_info(private_request)));
  auto not_granted = registry_.judge_access_info(AccessRequest{public_id_.str(), bob_, kNone, kNone});
  auto unknown = registry_.judge_access_info(AccessRequest{ClusterId::generate().str(), bob_, kNone, kNone});
  ASSERT_TRUE(std::holds_alternative<Error>(not_granted));
  ASSERT_TRUE(std::holds_alternative<Error>(unknown));
  EXPECT_EQ(std::get<Error>(not_granted).to_json(), std::get<Error>(unknown).to_json());
  EXPECT_EQ(std::get<Error>(not_granted).http_status(), 403);
  EXPECT_EQ(registry_.downloads().size(), 1u);
}

// The principal of the token travels with every answer that passed rule 1
// (for the front end's access log): the first download, {"Downloaded"}, the
// judge's admission; never the token itself.
TEST_P(AccessRules, AnswersPastRuleOneNameThePrincipalNeverTheToken) {
  const AccessRequest alice{public_id_.str(), alice_, kNone, kNone};
  const AccessRequest carol{public_id_.str(), carol_, kNone, kNone};
  auto admitted = registry_.judge_access_info(alice);
  ASSERT_TRUE(std::holds_alternative<FirstDownloadAdmitted>(admitted));
  EXPECT_EQ(std::get<FirstDownloadAdmitted>(admitted).principal, "alice");

  const AccessInfo first = registry_.access_info(alice);
  ASSERT_TRUE(first.is_first_download());
  EXPECT_EQ(first.principal, "alice");
  const AccessInfo again = registry_.access_info(carol);
  expect_downloaded(again);
  EXPECT_EQ(again.principal, "carol");
  auto judged = registry_.judge_access_info(carol);
  ASSERT_TRUE(std::holds_alternative<AccessInfo>(judged));
  EXPECT_EQ(std::get<AccessInfo>(judged).principal, "carol");
  for (const std::string& principal : {first.principal, again.principal}) {
    EXPECT_NE(principal, alice_);
    EXPECT_NE(principal, carol_);
  }
  // A move hands the principal over with the documents.
  AccessInfo moved(std::move(std::get<AccessInfo>(judged)));
  EXPECT_EQ(moved.principal, "carol");
  EXPECT_TRUE(std::get<AccessInfo>(judged).principal.empty());
}

// The settings a download hands out are read by its commit, in the
// transaction that records it: settings changed after the request was judged
// are the ones in the manifest.
TEST_P(AccessRules, SettingsChangedAfterTheRequestWasJudgedAreTheOnesHandedOut) {
  fault::set_hook(fault::Point::kBeforeCommit, [this] {
    registry_.set_public_endpoint("moved.example.com", 30999);
    return false;
  });
  const AccessInfo info = call(public_id_.str(), alice_);
  fault::clear_hooks();
  ASSERT_TRUE(info.is_first_download());
  ASSERT_GE(info.documents.size(), 2u);
  EXPECT_NE(info.documents[1].find("--proxy-server-host=moved.example.com"), std::string::npos);
  EXPECT_EQ(info.documents[1].find("proxy.example.com"), std::string::npos);
}

// No public endpoint: 500 not configured, found by the commit once the key
// was made -- nothing recorded, and the cluster downloads once it is set.
TEST_P(AccessRules, NoPublicEndpointIsNotConfiguredAndRecordsNothing) {
  testing::TestLocation location(GetParam(), /*in_memory=*/true);
  Registry bare(location.location(), location.registry_options(options_with(clock_)));
  const ClusterId id = bare.register_cluster(spec("public-two", ClusterCategory::kAttached, "eks",
                                                  AccessNetwork::kPublic));
  const std::string token = bare.create_token("dave", 3600s);
  bare.grant("dave", id);
  const AccessRequest request{id.str(), token, kNone, kNone};
  const Error error = error_of([&] { bare.access_info(request); });
  EXPECT_EQ(error.code(), error_code::kNotConfigured);
  EXPECT_TRUE(bare.downloads().empty());
  EXPECT_FALSE(bare.cluster(id).downloaded_at.has_value());
  EXPECT_FALSE(bare.cluster(id).certificate_serial.has_value());

  bare.set_public_endpoint("proxy.example.com", 30123);
  EXPECT_TRUE(bare.access_info(request).is_first_download());
  EXPECT_EQ(bare.downloads().size(), 1u);
}

// The judge makes no key and no certificate, whatever it answers.
TEST_P(AccessRules, JudgeNeverMakesAKey) {
  int keys = 0;
  fault::set_hook(fault::Point::kKeyGeneration, [&keys] { return ++keys, false; });
  fault::set_hook(fault::Point::kSign, [&keys] { return ++keys, false; });
  for (const AccessRequest& request :
       {AccessRequest{public_id_.str(), alice_, kNone, kNone},
        AccessRequest{private_id_.str(), alice_, Opt("10.0.0.1"), Opt("eu-de")},
        AccessRequest{public_id_.str(), bob_, kNone, kNone}, AccessRequest{cce_id_.str(), alice_, kNone, kNone}}) {
    registry_.judge_access_info(request);
  }
  EXPECT_EQ(keys, 0);
  EXPECT_TRUE(call(public_id_.str(), alice_).is_first_download());
  fault::clear_hooks();
  EXPECT_EQ(keys, 2) << "the download itself passes key generation and signing";
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessRules, ::testing::ValuesIn(testing::test_backends()), testing::BackendName());

}  // namespace
}  // namespace clusteraccess
