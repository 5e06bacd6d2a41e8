// The lifecycle (docs/contract.md, Lifecycle): phases over the connection
// window, activation, agent connection, the revocation list, deletion and
// the audit events.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "fault_injection.hpp"
#include "backend_support.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::ManualClock;
using testing::TempDir;

constexpr std::int64_t kWindow = 600;

std::string decode_base64(const std::string& text) {
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  std::size_t length = static_cast<std::size_t>(n);
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --length;
  out.resize(length);
  return out;
}

// The agent certificate (PEM) of a first download.
std::string agent_certificate(const AccessInfo& info) {
  for (const auto& document : info.documents) {
    if (const auto value = testing::yaml_quoted_value(document, "proxy-agent.crt")) return decode_base64(*value);
  }
  return {};
}

// The serials listed by a PEM CRL, checked to be signed by `ca_pem`.
std::vector<std::string> crl_serials(const std::string& crl_pem, const std::string& ca_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> crl_bio(BIO_new_mem_buf(crl_pem.data(), static_cast<int>(crl_pem.size())), BIO_free);
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(PEM_read_bio_X509_CRL(crl_bio.get(), nullptr, nullptr, nullptr),
                                                          X509_CRL_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> ca_bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!crl || !ca) {
    ADD_FAILURE() << "the CRL or the CA does not parse";
    return {};
  }
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())), 1) << "the CRL is not signed by the CA";
  std::vector<std::string> out;
  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const ASN1_INTEGER* serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
    BIGNUM* number = ASN1_INTEGER_to_BN(serial, nullptr);
    char* hex = BN_bn2hex(number);
    std::string text(hex);
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(text);
    OPENSSL_free(hex);
    BN_free(number);
  }
  return out;
}

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// The lifecycle on every backend.
class LifecycleTest : public ::testing::TestWithParam<std::string> {
 protected:
  LifecycleTest() : location_(GetParam()), registry_(location_.location(), location_.registry_options(options())) {
    registry_.set_public_endpoint("proxy.example.com", 443);
    token_ = registry_.create_token("alice", 24h * 30);
    ClusterSpec spec;
    spec.name = "prod";
    spec.provider = "eks";
    id_ = registry_.register_cluster(spec);
    registry_.grant("alice", id_);
  }

  RegistryOptions options() {
    RegistryOptions o;
    o.clock = clock_.function();
    o.connection_window = std::chrono::seconds(kWindow);
    return o;
  }

  AccessInfo download() { return registry_.access_info(AccessRequest{id_.str(), token_, std::nullopt, std::nullopt}); }
  ClusterPhase phase() { return registry_.cluster(id_).phase; }

  ManualClock clock_;
  TempDir dir_;
  testing::TestLocation location_;
  Registry registry_;
  std::string token_;
  ClusterId id_ = ClusterId::generate();
};

TEST_P(LifecycleTest, PhasesFollowTheDownloadTheAgentAndTheWindow) {
  EXPECT_EQ(phase(), ClusterPhase::kPending);
  EXPECT_FALSE(registry_.cluster(id_).is_downloaded_cert());
  const AccessInfo info = download();
  EXPECT_EQ(phase(), ClusterPhase::kInitializing);
  EXPECT_TRUE(registry_.cluster(id_).is_downloaded_cert());
  clock_.advance(kWindow - 1);
  EXPECT_EQ(phase(), ClusterPhase::kInitializing);
  EXPECT_EQ(registry_.agent_connected(agent_certificate(info)), id_.str());
  EXPECT_EQ(phase(), ClusterPhase::kAvailable);
  clock_.advance(kWindow * 10);
  EXPECT_EQ(phase(), ClusterPhase::kAvailable) << "a connected cluster does not fail later";
  // An agent that reconnects with its current certificate is accepted.
  EXPECT_EQ(registry_.agent_connected(agent_certificate(info)), id_.str());
}

TEST_P(LifecycleTest, APassedWindowFailsTheClusterRevokesItsSerialAndRefusesTheAgent) {
  const AccessInfo info = download();
  clock_.advance(kWindow);
  EXPECT_EQ(phase(), ClusterPhase::kFailed);
  EXPECT_TRUE(contains(crl_serials(registry_.certificate_revocation_list(), registry_.ca_certificate_pem()),
                       *info.certificate_serial));
  EXPECT_CA_ERROR(registry_.agent_connected(agent_certificate(info)), 403, "UCS.01000004");
  EXPECT_EQ(phase(), ClusterPhase::kFailed);
  // The failure is an event, recorded once, at the window's end.
  for (int i = 0; i < 2; ++i) {
    const auto events = registry_.events(id_);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].kind, LifecycleEventKind::kFailure);
    EXPECT_EQ(events[1].at, clock_.now());
    EXPECT_EQ(events[1].certificate_serial, info.certificate_serial);
  }
}

TEST_P(LifecycleTest, ActivationReturnsToPendingAndTheNextDownloadHasANewSerial) {
  const AccessInfo first = download();
  clock_.advance(kWindow + 5);
  registry_.reactivate(id_);
  const Cluster pending = registry_.cluster(id_);
  EXPECT_EQ(pending.phase, ClusterPhase::kPending);
  EXPECT_EQ(pending.generation, 2);
  EXPECT_FALSE(pending.certificate_serial.has_value());

  const AccessInfo second = download();
  ASSERT_TRUE(second.is_first_download());
  EXPECT_NE(second.certificate_serial, first.certificate_serial);
  EXPECT_EQ(phase(), ClusterPhase::kInitializing);
  EXPECT_EQ(download().documents, std::vector<std::string>{kDownloaded}) << "exactly once per generation";

  // The old certificate is refused; the new one connects.
  EXPECT_CA_ERROR(registry_.agent_connected(agent_certificate(first)), 403, "UCS.01000004");
  EXPECT_EQ(registry_.agent_connected(agent_certificate(second)), id_.str());
  const auto revoked = crl_serials(registry_.certificate_revocation_list(), registry_.ca_certificate_pem());
  EXPECT_TRUE(contains(revoked, *first.certificate_serial));
  EXPECT_FALSE(contains(revoked, *second.certificate_serial));
  EXPECT_EQ(registry_.downloads().size(), 2u);
}

TEST_P(LifecycleTest, ActivationOfAnAvailableClusterRevokesItsCertificateNow) {
  const AccessInfo info = download();
  registry_.agent_connected(agent_certificate(info));
  clock_.advance(100);
  registry_.reactivate(id_);
  EXPECT_EQ(phase(), ClusterPhase::kPending);
  EXPECT_CA_ERROR(registry_.agent_connected(agent_certificate(info)), 403, "UCS.01000004");
  EXPECT_TRUE(contains(crl_serials(registry_.certificate_revocation_list(), registry_.ca_certificate_pem()),
                       *info.certificate_serial));
  const auto events = registry_.events(id_);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, LifecycleEventKind::kDownload);
  EXPECT_EQ(events[1].kind, LifecycleEventKind::kConnection);
  EXPECT_EQ(events[1].principal, "agent");
  EXPECT_EQ(events[2].kind, LifecycleEventKind::kActivation);
  EXPECT_EQ(events[2].principal, "admin");
  EXPECT_EQ(events[2].certificate_serial, info.certificate_serial);
  EXPECT_EQ(events[2].at, clock_.now());
}

TEST_P(LifecycleTest, ActivationIsAllowedInEveryPhaseAndRefusedForUnknownAndCceClusters) {
  registry_.reactivate(id_);  // Pending
  EXPECT_EQ(phase(), ClusterPhase::kPending);
  EXPECT_CA_ERROR(registry_.reactivate(ClusterId::generate()), 404, "UCS.01000005");
  ClusterSpec cce;
  cce.name = "cce-one";
  cce.category = ClusterCategory::kCce;
  cce.provider = "cce";
  EXPECT_CA_ERROR(registry_.reactivate(registry_.register_cluster(cce)), 400, "UCS.01000011");
}

TEST_P(LifecycleTest, AgentConnectedRefusesEverythingElse) {
  const AccessInfo info = download();
  const std::string certificate = agent_certificate(info);
  // Garbage, an empty string, the CA's own certificate.
  EXPECT_CA_ERROR(registry_.agent_connected("not a certificate"), 403, "UCS.01000004");
  EXPECT_CA_ERROR(registry_.agent_connected(""), 403, "UCS.01000004");
  EXPECT_CA_ERROR(registry_.agent_connected(registry_.ca_certificate_pem()), 403, "UCS.01000004");
  // A certificate of another installation's CA, for a cluster of the same id.
  {
    RegistryOptions o;
    o.clock = clock_.function();
    Registry other(dir_.file("other.db"), o);
    other.set_public_endpoint("proxy.example.com", 443);
    const std::string token = other.create_token("alice", 3600s);
    ClusterSpec spec;
    spec.name = "prod";
    spec.provider = "eks";
    spec.id = id_;
    other.grant("alice", other.register_cluster(spec));
    const AccessInfo foreign = other.access_info(AccessRequest{id_.str(), token, std::nullopt, std::nullopt});
    EXPECT_CA_ERROR(registry_.agent_connected(agent_certificate(foreign)), 403, "UCS.01000004");
  }
  EXPECT_EQ(phase(), ClusterPhase::kInitializing) << "nothing changed";
  const auto error = testing::error_of([&] { registry_.agent_connected("x"); });
  EXPECT_EQ(error.message(), Error::agent_certificate_refused().message());
  EXPECT_EQ(registry_.agent_connected(certificate), id_.str());
}

TEST_P(LifecycleTest, DeletionRevokesRemovesAndKeepsTheIdAsATombstone) {
  const AccessInfo info = download();
  registry_.agent_connected(agent_certificate(info));
  registry_.delete_cluster(id_);
  EXPECT_CA_ERROR(registry_.cluster(id_), 404, "UCS.01000005");
  EXPECT_CA_ERROR(registry_.agent_connected(agent_certificate(info)), 403, "UCS.01000004");
  EXPECT_CA_ERROR(registry_.access_info(AccessRequest{id_.str(), token_, std::nullopt, std::nullopt}), 403,
                  "UCS.01000004");
  EXPECT_TRUE(contains(crl_serials(registry_.certificate_revocation_list(), registry_.ca_certificate_pem()),
                       *info.certificate_serial));
  ClusterSpec again;
  again.name = "prod";  // the name is free again, the id is not
  again.provider = "eks";
  again.id = id_;
  EXPECT_CA_ERROR(registry_.register_cluster(again), 409, "UCS.01000006");
  again.id.reset();
  registry_.register_cluster(again);
  EXPECT_CA_ERROR(registry_.delete_cluster(id_), 404, "UCS.01000005");
  const auto events = registry_.events(id_);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, LifecycleEventKind::kDeletion);
  EXPECT_EQ(registry_.downloads().size(), 1u) << "the audit outlives the cluster";
}

TEST_P(LifecycleTest, EventsOfAllClustersAreOrderedByTime) {
  download();
  clock_.advance(10);
  registry_.reactivate(id_);
  const auto all = registry_.events();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_LE(all[0].at, all[1].at);
  EXPECT_EQ(all[0].principal, "alice");
}

// A download judged in one generation whose commit comes after an activation
// commits nothing for the old generation: it is judged again and becomes the
// one download of the new generation. Exactly one key either way.
TEST_P(LifecycleTest, ADownloadOvertakenByAnActivationCommitsOnlyInTheNewGeneration) {
  bool activated = false;
  fault::set_hook(fault::Point::kBeforeCommit, [&] {
    if (!activated) {
      activated = true;
      registry_.reactivate(id_);
    }
    return false;
  });
  const AccessInfo info = download();
  fault::clear_hooks();
  ASSERT_TRUE(activated);
  ASSERT_TRUE(info.is_first_download());
  const Cluster cluster = registry_.cluster(id_);
  EXPECT_EQ(cluster.generation, 2);
  EXPECT_EQ(cluster.certificate_serial, info.certificate_serial);
  ASSERT_EQ(registry_.downloads().size(), 1u) << "the key made for generation 1 was never committed";
  const auto events = registry_.events(id_);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, LifecycleEventKind::kActivation);
  EXPECT_FALSE(events[0].certificate_serial.has_value()) << "nothing was downloaded to revoke";
  EXPECT_EQ(events[1].kind, LifecycleEventKind::kDownload);
  EXPECT_EQ(events[1].generation, 2);
  EXPECT_EQ(download().documents, std::vector<std::string>{kDownloaded});
}

INSTANTIATE_TEST_SUITE_P(Backends, LifecycleTest, ::testing::ValuesIn(testing::test_backends()), testing::BackendName());

TEST(LifecycleOptions, ConnectionWindowIsBoundedAtOpen) {
  for (const auto window : {std::chrono::seconds(0), std::chrono::seconds(7 * 24 * 3600 + 1)}) {
    RegistryOptions o;
    o.connection_window = window;
    const Error error = testing::error_of([&] { Registry registry(":memory:", o); });
    EXPECT_EQ(error.http_status(), 400);
    EXPECT_NE(error.message().find("connection_window"), std::string::npos);
  }
  RegistryOptions o;
  o.connection_window = std::chrono::seconds(1);
  Registry shortest(":memory:", o);
  o.connection_window = std::chrono::hours(24 * 7);
  Registry longest(":memory:", o);
}

}  // namespace
}  // namespace clusteraccess
