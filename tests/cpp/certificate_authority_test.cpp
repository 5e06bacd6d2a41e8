#include "certificate_authority.hpp"

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "clusteraccess/error.hpp"
#include "openssl_handles.hpp"

namespace clusteraccess {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr std::int64_t kNow = 1'750'000'000;  // 2025-06-15
constexpr seconds kCaValidity = hours(24 * 365 * 10);
constexpr seconds kAgentValidity = hours(24 * 365);

// Verification is the test's business, not the library's: its handles live here.
using X509Store = std::unique_ptr<X509_STORE, openssl::Deleter<X509_STORE, X509_STORE_free>>;
using X509StoreContext = std::unique_ptr<X509_STORE_CTX, openssl::Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

openssl::X509Cert parse_certificate(const std::string& pem) {
  const openssl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return openssl::X509Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

openssl::Pkey parse_key(std::string_view pem) {
  const openssl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return openssl::Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string common_name(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

// Verifies `cert_pem` as a TLS client certificate issued by `ca_pem`, at `at`.
bool verifies(const std::string& ca_pem, const std::string& cert_pem, std::int64_t at) {
  const openssl::X509Cert ca = parse_certificate(ca_pem);
  const openssl::X509Cert cert = parse_certificate(cert_pem);
  const X509Store store(X509_STORE_new());
  const X509StoreContext context(X509_STORE_CTX_new());
  if (!ca || !cert || !store || !context || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(context.get(), store.get(), cert.get(), nullptr) != 1) {
    ADD_FAILURE() << "verification setup failed";
    return false;
  }
  X509_STORE_CTX_set_time(context.get(), 0, static_cast<time_t>(at));
  X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT);
  return X509_verify_cert(context.get()) == 1;
}

bool is_p256(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t length = 0;
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1 &&
         (OBJ_sn2nid(group) == NID_X9_62_prime256v1 || EC_curve_nist2nid(group) == NID_X9_62_prime256v1);
}

std::string serial_of(X509* cert) {
  const openssl::BigNum number(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  const openssl::String hex(BN_bn2hex(number.get()));
  std::string out(hex.get());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void expect_certificate_error(const std::function<void()>& action) {
  try {
    action();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInternal);
    EXPECT_EQ(e.code(), error_code::kCertificateFailure);
  }
}

CaMaterial copy(const CaMaterial& material) {
  return CaMaterial{material.certificate_pem, SecretString(std::string(material.private_key_pem.view()))};
}

// A self-signed CA on a key other than P-256, built by hand.
CaMaterial foreign_ca(const char* algorithm, const char* parameter) {
  openssl::Pkey key(parameter ? EVP_PKEY_Q_keygen(nullptr, nullptr, algorithm, parameter)
                              : EVP_PKEY_Q_keygen(nullptr, nullptr, algorithm, std::size_t{2048}));
  openssl::X509Cert cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("foreign"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), kNow - 60);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), kNow + 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX context{};
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  const openssl::X509Extension bc(
      X509V3_EXT_conf_nid(nullptr, &context, NID_basic_constraints, "critical,CA:TRUE"));
  X509_add_ext(cert.get(), bc.get(), -1);
  EXPECT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);

  const openssl::Bio cert_bio(BIO_new(BIO_s_mem()));
  const openssl::Bio key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long cert_length = BIO_get_mem_data(cert_bio.get(), &data);
  std::string cert_pem(data, static_cast<std::size_t>(cert_length));
  const long key_length = BIO_get_mem_data(key_bio.get(), &data);
  return CaMaterial{cert_pem, SecretString(std::string(data, static_cast<std::size_t>(key_length)))};
}

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  // One CA for the suite: most tests only need some valid CA.
  static const CaMaterial& material() {
    static const CaMaterial shared = CertificateAuthority::create(kNow, kCaValidity);
    return shared;
  }
};

TEST_F(CertificateAuthorityTest, CreatesPemMaterial) {
  EXPECT_EQ(material().certificate_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  EXPECT_EQ(material().private_key_pem.view().rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
}

TEST_F(CertificateAuthorityTest, CreatedCaIsSelfSignedP256Ca) {
  const openssl::X509Cert cert = parse_certificate(material().certificate_pem);
  const openssl::Pkey key = parse_key(material().private_key_pem.view());
  ASSERT_TRUE(cert && key);
  EXPECT_TRUE(is_p256(key.get()));
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_verify(cert.get(), key.get()), 1);
  EXPECT_EQ(common_name(cert.get()), "clusteraccess agent CA");
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert.get()), kNow - 300), 0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert.get()), kNow + kCaValidity.count()), 0);
}

TEST_F(CertificateAuthorityTest, LoadsBackFromItsMaterial) {
  const CertificateAuthority ca(material());
  const openssl::X509Cert original = parse_certificate(material().certificate_pem);
  const openssl::X509Cert loaded = parse_certificate(ca.certificate_pem());
  ASSERT_TRUE(original && loaded);
  EXPECT_EQ(X509_cmp(original.get(), loaded.get()), 0);
}

TEST_F(CertificateAuthorityTest, IssuedCertificateVerifiesAgainstCaAsClientCertificate) {
  const CertificateAuthority ca(material());
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  EXPECT_TRUE(verifies(ca.certificate_pem(), credential.certificate_pem, kNow));

  const openssl::X509Cert cert = parse_certificate(credential.certificate_pem);
  const openssl::Pkey ca_key = parse_key(material().private_key_pem.view());
  EXPECT_EQ(X509_verify(cert.get(), ca_key.get()), 1);
}

TEST_F(CertificateAuthorityTest, IssuedCertificateDoesNotVerifyAgainstAnotherCa) {
  const CertificateAuthority ca(material());
  const CertificateAuthority other(CertificateAuthority::create(kNow, kCaValidity));
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  EXPECT_FALSE(verifies(other.certificate_pem(), credential.certificate_pem, kNow));
}

TEST_F(CertificateAuthorityTest, IssuedKeyIsFreshP256MatchingTheCertificate) {
  const CertificateAuthority ca(material());
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  EXPECT_EQ(credential.private_key_pem.view().rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  const openssl::X509Cert cert = parse_certificate(credential.certificate_pem);
  const openssl::Pkey key = parse_key(credential.private_key_pem.view());
  ASSERT_TRUE(cert && key);
  EXPECT_TRUE(is_p256(key.get()));
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  const openssl::Pkey ca_key = parse_key(material().private_key_pem.view());
  EXPECT_NE(EVP_PKEY_eq(key.get(), ca_key.get()), 1);
}

TEST_F(CertificateAuthorityTest, SubjectNamesTheCluster) {
  const CertificateAuthority ca(material());
  const ClusterId id = ClusterId::generate();
  const openssl::X509Cert cert = parse_certificate(ca.issue(id, kNow, kAgentValidity).certificate_pem);
  EXPECT_EQ(common_name(cert.get()), id.str());
  char organization[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_organizationName, organization,
                            sizeof organization);
  EXPECT_STREQ(organization, "clusteraccess proxy-agent");
  const openssl::X509Cert ca_cert = parse_certificate(ca.certificate_pem());
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca_cert.get())), 0);
}

TEST_F(CertificateAuthorityTest, IssuedCertificateIsClientAuthLeaf) {
  const CertificateAuthority ca(material());
  const openssl::X509Cert cert =
      parse_certificate(ca.issue(ClusterId::generate(), kNow, kAgentValidity).certificate_pem);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<std::uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  const int bc = X509_get_ext_by_NID(cert.get(), NID_basic_constraints, -1);
  ASSERT_GE(bc, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), bc)), 1);
  const int ku = X509_get_ext_by_NID(cert.get(), NID_key_usage, -1);
  ASSERT_GE(ku, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), ku)), 1);
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(cert.get()), nullptr);
}

TEST_F(CertificateAuthorityTest, ValidityIsBoundedWithClockSkew) {
  const CertificateAuthority ca(material());
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  const openssl::X509Cert cert = parse_certificate(credential.certificate_pem);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert.get()), kNow - 300), 0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert.get()), kNow + kAgentValidity.count()), 0);

  EXPECT_TRUE(verifies(ca.certificate_pem(), credential.certificate_pem, kNow - 299));
  EXPECT_TRUE(verifies(ca.certificate_pem(), credential.certificate_pem, kNow + kAgentValidity.count() - 1));
  EXPECT_FALSE(verifies(ca.certificate_pem(), credential.certificate_pem, kNow - 301));
  EXPECT_FALSE(verifies(ca.certificate_pem(), credential.certificate_pem, kNow + kAgentValidity.count() + 1));
}

TEST_F(CertificateAuthorityTest, ValidityEndsWithTheCa) {
  const CertificateAuthority ca(CertificateAuthority::create(kNow, hours(1)));
  const openssl::X509Cert cert =
      parse_certificate(ca.issue(ClusterId::generate(), kNow, kAgentValidity).certificate_pem);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert.get()), kNow + 3600), 0);
}

TEST_F(CertificateAuthorityTest, RefusesToIssueFromExpiredCa) {
  const CertificateAuthority ca(CertificateAuthority::create(kNow, hours(1)));
  expect_certificate_error([&] { ca.issue(ClusterId::generate(), kNow + 3600, kAgentValidity); });
}

TEST_F(CertificateAuthorityTest, RejectsNonPositiveValidity) {
  const CertificateAuthority ca(material());
  expect_certificate_error([&] { ca.issue(ClusterId::generate(), kNow, seconds(0)); });
  expect_certificate_error([&] { ca.issue(ClusterId::generate(), kNow, seconds(-1)); });
  expect_certificate_error([] { CertificateAuthority::create(kNow, seconds(0)); });
}

TEST_F(CertificateAuthorityTest, SerialIsLowercaseHexOfTheCertificateSerial) {
  const CertificateAuthority ca(material());
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  const openssl::X509Cert cert = parse_certificate(credential.certificate_pem);
  EXPECT_EQ(credential.serial_hex, serial_of(cert.get()));
  ASSERT_FALSE(credential.serial_hex.empty());
  EXPECT_NE(credential.serial_hex.front(), '0');
  EXPECT_EQ(credential.serial_hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  const openssl::BigNum number(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  EXPECT_FALSE(BN_is_negative(number.get()));
  EXPECT_FALSE(BN_is_zero(number.get()));
  EXPECT_LE(BN_num_bytes(number.get()), 20);
}

TEST_F(CertificateAuthorityTest, SerialsAreUniqueOver200Issues) {
  const CertificateAuthority ca(material());
  std::set<std::string> serials;
  for (int i = 0; i < 200; ++i) serials.insert(ca.issue(ClusterId::generate(), kNow, kAgentValidity).serial_hex);
  EXPECT_EQ(serials.size(), 200u);
}

TEST_F(CertificateAuthorityTest, IssuesConcurrentlyFromManyThreads) {
  const CertificateAuthority ca(material());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::vector<AgentCredential>> issued(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ca, &issued, t] {
      for (int i = 0; i < kPerThread; ++i) issued[t].push_back(ca.issue(ClusterId::generate(), kNow, kAgentValidity));
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<std::string> serials;
  for (const auto& batch : issued) {
    ASSERT_EQ(batch.size(), static_cast<std::size_t>(kPerThread));
    for (const auto& credential : batch) {
      serials.insert(credential.serial_hex);
      EXPECT_TRUE(verifies(ca.certificate_pem(), credential.certificate_pem, kNow));
    }
  }
  EXPECT_EQ(serials.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_F(CertificateAuthorityTest, MovedCaKeepsIssuing) {
  CertificateAuthority first(material());
  CertificateAuthority second(std::move(first));
  EXPECT_TRUE(verifies(second.certificate_pem(),
                       second.issue(ClusterId::generate(), kNow, kAgentValidity).certificate_pem, kNow));
  CertificateAuthority third(CertificateAuthority::create(kNow, kCaValidity));
  third = std::move(second);
  EXPECT_TRUE(verifies(material().certificate_pem,
                       third.issue(ClusterId::generate(), kNow, kAgentValidity).certificate_pem, kNow));
}

TEST_F(CertificateAuthorityTest, RejectsGarbageCertificate) {
  CaMaterial bad = copy(material());
  bad.certificate_pem = "not a certificate";
  expect_certificate_error([&] { CertificateAuthority ca(bad); });
  bad.certificate_pem.clear();
  expect_certificate_error([&] { CertificateAuthority ca(bad); });
}

TEST_F(CertificateAuthorityTest, RejectsTruncatedCertificate) {
  CaMaterial bad = copy(material());
  bad.certificate_pem = bad.certificate_pem.substr(0, bad.certificate_pem.size() / 2) + "\n-----END CERTIFICATE-----\n";
  expect_certificate_error([&] { CertificateAuthority ca(bad); });
}

TEST_F(CertificateAuthorityTest, RejectsGarbageOrEmptyKey) {
  CaMaterial bad{material().certificate_pem, SecretString(std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))};
  expect_certificate_error([&] { CertificateAuthority ca(bad); });
  const CaMaterial empty{material().certificate_pem, SecretString()};
  expect_certificate_error([&] { CertificateAuthority ca(empty); });
}

TEST_F(CertificateAuthorityTest, RejectsKeyOfAnotherCa) {
  const CaMaterial other = CertificateAuthority::create(kNow, kCaValidity);
  const CaMaterial mismatched{material().certificate_pem,
                              SecretString(std::string(other.private_key_pem.view()))};
  expect_certificate_error([&] { CertificateAuthority ca(mismatched); });
}

TEST_F(CertificateAuthorityTest, RejectsAgentCredentialAsCa) {
  const CertificateAuthority ca(material());
  AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  const CaMaterial leaf{credential.certificate_pem, std::move(credential.private_key_pem)};
  expect_certificate_error([&] { CertificateAuthority not_a_ca(leaf); });
}

TEST_F(CertificateAuthorityTest, RejectsCaOnOtherCurveOrAlgorithm) {
  const CaMaterial p384 = foreign_ca("EC", "P-384");
  expect_certificate_error([&] { CertificateAuthority ca(p384); });
  const CaMaterial rsa = foreign_ca("RSA", nullptr);
  expect_certificate_error([&] { CertificateAuthority ca(rsa); });
}

TEST_F(CertificateAuthorityTest, RejectsEncryptedKeyWithoutPrompting) {
  const openssl::Pkey key = parse_key(material().private_key_pem.view());
  const openssl::Bio bio(BIO_new(BIO_s_mem()));
  static const char kPassphrase[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), kPassphrase,
                                          static_cast<int>(sizeof kPassphrase - 1), nullptr, nullptr),
            1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  const CaMaterial encrypted{material().certificate_pem,
                             SecretString(std::string(data, static_cast<std::size_t>(length)))};
  expect_certificate_error([&] { CertificateAuthority ca(encrypted); });
}

}  // namespace
}  // namespace clusteraccess
