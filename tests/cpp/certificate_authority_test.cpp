#include "certificate_authority.hpp"

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
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

// A serial chosen before the key (a download records it while the key is
// made) is the certificate's; a serial not written as new_serial writes it
// is refused.
TEST_F(CertificateAuthorityTest, IssuesWithASerialChosenBeforehand) {
  const CertificateAuthority ca(material());
  const std::string serial = CertificateAuthority::new_serial();
  EXPECT_EQ(serial.size(), 32u);
  EXPECT_NE(serial.front(), '0');
  EXPECT_EQ(serial.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(serial, CertificateAuthority::new_serial());
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity, serial);
  EXPECT_EQ(credential.serial_hex, serial);
  EXPECT_EQ(serial_of(parse_certificate(credential.certificate_pem).get()), serial);
  for (const std::string& bad : std::vector<std::string>{"", "0abc", "ABC", "xyz", std::string(41, 'a')}) {
    expect_certificate_error([&] { ca.issue(ClusterId::generate(), kNow, kAgentValidity, bad); });
  }
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


// --- Revocation list ---------------------------------------------------------

constexpr seconds kCrlLifetime = hours(24);

openssl::X509Crl parse_crl(const std::string& pem) {
  const openssl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return openssl::X509Crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
}

// Lowercase hex without leading zeros (BN_bn2hex writes whole bytes).
std::string hex_of(const ASN1_INTEGER* serial) {
  const openssl::BigNum number(ASN1_INTEGER_to_BN(serial, nullptr));
  const openssl::String hex(BN_bn2hex(number.get()));
  std::string out(hex.get());
  out.erase(0, std::min(out.find_first_not_of('0'), out.size() - 1));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The revoked serials of `crl` with their dates, as Unix seconds.
std::map<std::string, std::int64_t> entries_of(X509_CRL* crl) {
  std::map<std::string, std::int64_t> entries;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* entry = sk_X509_REVOKED_value(revoked, i);
    const openssl::Asn1Time epoch(ASN1_TIME_set(nullptr, 0));
    int days = 0;
    int secs = 0;
    EXPECT_EQ(ASN1_TIME_diff(&days, &secs, epoch.get(), X509_REVOKED_get0_revocationDate(entry)), 1);
    entries.emplace(hex_of(X509_REVOKED_get0_serialNumber(entry)), std::int64_t{days} * 86400 + secs);
  }
  return entries;
}

std::string random_serial_hex(std::mt19937_64& random) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex(1, kDigits[1 + random() % 15]);
  for (int i = 1; i < 32; ++i) hex += kDigits[random() % 16];
  return hex;
}

// The result of verifying `cert_pem` as a client certificate of `ca_pem` at
// `at`, checking its revocation against `crl_pem`, as a TLS server would.
int verify_with_crl(const std::string& ca_pem, const std::string& crl_pem, const std::string& cert_pem,
                    std::int64_t at) {
  const openssl::X509Cert ca = parse_certificate(ca_pem);
  const openssl::X509Cert cert = parse_certificate(cert_pem);
  const openssl::X509Crl crl = parse_crl(crl_pem);
  const X509Store store(X509_STORE_new());
  const X509StoreContext context(X509_STORE_CTX_new());
  if (!ca || !cert || !crl || !store || !context || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_add_crl(store.get(), crl.get()) != 1 ||
      X509_STORE_CTX_init(context.get(), store.get(), cert.get(), nullptr) != 1) {
    ADD_FAILURE() << "verification setup failed";
    return -1;
  }
  X509_STORE_CTX_set_flags(context.get(), X509_V_FLAG_CRL_CHECK);
  X509_STORE_CTX_set_time(context.get(), 0, static_cast<time_t>(at));
  X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(context.get()) == 1) return X509_V_OK;
  const int error = X509_STORE_CTX_get_error(context.get());
  return error == X509_V_OK ? -1 : error;
}

TEST_F(CertificateAuthorityTest, RevocationListIsAV2CrlSignedByTheCa) {
  const CertificateAuthority ca(material());
  const std::string pem = ca.revocation_list_pem({{"1a2b", kNow - 60}}, kNow, kCrlLifetime);
  EXPECT_EQ(pem.rfind("-----BEGIN X509 CRL-----\n", 0), 0u);
  const openssl::X509Crl crl = parse_crl(pem);
  const openssl::X509Cert ca_cert = parse_certificate(ca.certificate_pem());
  ASSERT_TRUE(crl && ca_cert);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())), 1);
  EXPECT_EQ(X509_CRL_get_signature_nid(crl.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca_cert.get())), 0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl.get()), kNow), 0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl.get()), kNow + kCrlLifetime.count()), 0);

  const openssl::X509Cert other = parse_certificate(CertificateAuthority::create(kNow, kCaValidity).certificate_pem);
  EXPECT_NE(X509_CRL_verify(crl.get(), X509_get0_pubkey(other.get())), 1);
  ERR_clear_error();
}

TEST_F(CertificateAuthorityTest, RevocationListCarriesAuthorityKeyIdAndCrlNumber) {
  const CertificateAuthority ca(material());
  const openssl::X509Crl crl = parse_crl(ca.revocation_list_pem({}, kNow, kCrlLifetime));
  const openssl::X509Cert ca_cert = parse_certificate(ca.certificate_pem());
  ASSERT_TRUE(crl && ca_cert);

  using AuthorityKeyId = std::unique_ptr<AUTHORITY_KEYID, openssl::Deleter<AUTHORITY_KEYID, AUTHORITY_KEYID_free>>;
  const AuthorityKeyId akid(static_cast<AUTHORITY_KEYID*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, nullptr, nullptr)));
  ASSERT_TRUE(akid && akid->keyid);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(ca_cert.get())), 0);

  const openssl::Asn1Integer number(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  ASSERT_TRUE(number);
  EXPECT_EQ(ASN1_INTEGER_get(number.get()), kNow);
  // A later list has a larger number.
  const openssl::X509Crl later = parse_crl(ca.revocation_list_pem({}, kNow + 1, kCrlLifetime));
  const openssl::Asn1Integer later_number(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(later.get(), NID_crl_number, nullptr, nullptr)));
  ASSERT_TRUE(later_number);
  EXPECT_GT(ASN1_INTEGER_cmp(later_number.get(), number.get()), 0);
}

TEST_F(CertificateAuthorityTest, RevocationListListsEverySerialWithItsDate) {
  const CertificateAuthority ca(material());
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  const std::vector<RevokedCertificate> revoked = {
      {credential.serial_hex, kNow - 3600}, {"1", kNow - 86400 * 400}, {"ff00", kNow}};
  const openssl::X509Crl crl = parse_crl(ca.revocation_list_pem(revoked, kNow, kCrlLifetime));
  ASSERT_TRUE(crl);
  const std::map<std::string, std::int64_t> expected = {
      {credential.serial_hex, kNow - 3600}, {"1", kNow - 86400 * 400}, {"ff00", kNow}};
  EXPECT_EQ(entries_of(crl.get()), expected);
}

TEST_F(CertificateAuthorityTest, EmptyRevocationListIsValid) {
  const CertificateAuthority ca(material());
  const openssl::X509Crl crl = parse_crl(ca.revocation_list_pem({}, kNow, kCrlLifetime));
  const openssl::X509Cert ca_cert = parse_certificate(ca.certificate_pem());
  ASSERT_TRUE(crl && ca_cert);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())), 1);
  EXPECT_TRUE(entries_of(crl.get()).empty());
  const AgentCredential credential = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  EXPECT_EQ(verify_with_crl(ca.certificate_pem(), ca.revocation_list_pem({}, kNow, kCrlLifetime),
                            credential.certificate_pem, kNow),
            X509_V_OK);
}

TEST_F(CertificateAuthorityTest, RevocationListHolds10000Serials) {
  const CertificateAuthority ca(material());
  std::mt19937_64 random(20250615);
  std::vector<RevokedCertificate> revoked;
  std::map<std::string, std::int64_t> expected;
  for (int i = 0; i < 10000; ++i) {
    RevokedCertificate entry{random_serial_hex(random), kNow - i};
    expected.emplace(entry.serial_hex, entry.revoked_at);
    revoked.push_back(std::move(entry));
  }
  ASSERT_EQ(expected.size(), 10000u);
  const openssl::X509Crl crl = parse_crl(ca.revocation_list_pem(revoked, kNow, kCrlLifetime));
  const openssl::X509Cert ca_cert = parse_certificate(ca.certificate_pem());
  ASSERT_TRUE(crl && ca_cert);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_cert.get())), 1);
  EXPECT_EQ(entries_of(crl.get()), expected);
}

TEST_F(CertificateAuthorityTest, RevocationListListsARepeatedSerialOnceWithItsEarliestDate) {
  const CertificateAuthority ca(material());
  const openssl::X509Crl crl = parse_crl(
      ca.revocation_list_pem({{"abc", kNow - 10}, {"abc", kNow - 20}, {"def", kNow}}, kNow, kCrlLifetime));
  ASSERT_TRUE(crl);
  const std::map<std::string, std::int64_t> expected = {{"abc", kNow - 20}, {"def", kNow}};
  EXPECT_EQ(entries_of(crl.get()), expected);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 2);
}

TEST_F(CertificateAuthorityTest, RevocationListRefusesBadSerialsAndPeriods) {
  const CertificateAuthority ca(material());
  const std::vector<std::string> bad = {"",  "0",   "0abc", "ABC", "abg", "-1", "0x1f", " 1f", "1f ",
                                        std::string(41, 'f'), std::string("1\0", 2)};
  for (const std::string& serial : bad) {
    SCOPED_TRACE(serial);
    expect_certificate_error([&] { ca.revocation_list_pem({{serial, kNow}}, kNow, kCrlLifetime); });
  }
  EXPECT_NO_THROW(ca.revocation_list_pem({{std::string(40, 'f'), kNow}}, kNow, kCrlLifetime));
  expect_certificate_error([&] { ca.revocation_list_pem({}, kNow, seconds(0)); });
  expect_certificate_error([&] { ca.revocation_list_pem({}, kNow, seconds(-1)); });
  expect_certificate_error([&] { ca.revocation_list_pem({}, -1, kCrlLifetime); });
  expect_certificate_error(
      [&] { ca.revocation_list_pem({}, std::numeric_limits<std::int64_t>::max(), kCrlLifetime); });
}

TEST_F(CertificateAuthorityTest, OpenSslRefusesARevokedAgentAndAcceptsTheOthers) {
  const CertificateAuthority ca(material());
  const AgentCredential revoked = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  const AgentCredential current = ca.issue(ClusterId::generate(), kNow, kAgentValidity);
  const std::string crl = ca.revocation_list_pem({{revoked.serial_hex, kNow + 10}}, kNow + 60, kCrlLifetime);

  EXPECT_EQ(verify_with_crl(ca.certificate_pem(), crl, revoked.certificate_pem, kNow + 120), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify_with_crl(ca.certificate_pem(), crl, current.certificate_pem, kNow + 120), X509_V_OK);
  // Past nextUpdate the list is stale, and a verifier says so.
  EXPECT_EQ(verify_with_crl(ca.certificate_pem(), crl, current.certificate_pem, kNow + 60 + kCrlLifetime.count() + 1),
            X509_V_ERR_CRL_HAS_EXPIRED);
  // Another CA's list does not speak for this CA.
  const CertificateAuthority other(CertificateAuthority::create(kNow, kCaValidity));
  const std::string other_crl = other.revocation_list_pem({}, kNow + 60, kCrlLifetime);
  EXPECT_NE(verify_with_crl(ca.certificate_pem(), other_crl, current.certificate_pem, kNow + 120), X509_V_OK);
}

// --- Agent certificate verification -----------------------------------------

std::string to_pem(X509* cert) {
  const openssl::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::string der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::string pem_block(const std::string& name, const std::string& der, const std::string& header = "") {
  const openssl::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio(bio.get(), name.c_str(), header.c_str(), reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// A certificate like the ones `issue` makes, with one property changed at a
// time; signed with `signer` (the CA key by default).
struct LookAlike {
  std::vector<std::pair<std::string, std::string>> subject;
  const char* basic_constraints = "critical,CA:FALSE";
  const char* extended_key_usage = "clientAuth";
  bool authority_key_id = true;
  long serial = 0x4242;
  std::int64_t not_before = kNow - 300;
  std::int64_t not_after = kNow + 3600;
  const EVP_MD* digest = EVP_sha256();
  bool self_signed = false;
  const char* extra_critical_extension = nullptr;  ///< an OID, as a critical extension OpenSSL does not know
};

std::string make_look_alike(const CertificateAuthority& ca, const CaMaterial& ca_material, const LookAlike& spec) {
  const openssl::X509Cert ca_cert = parse_certificate(ca.certificate_pem());
  const openssl::Pkey ca_key = parse_key(ca_material.private_key_pem.view());
  const openssl::Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  openssl::X509Cert cert(X509_new());
  X509* c = cert.get();
  X509_set_version(c, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(c), spec.serial);
  for (const auto& [field, value] : spec.subject) {
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), field.c_str(), MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()),
                               -1, 0);
  }
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert.get()));
  ASN1_TIME_set(X509_getm_notBefore(c), static_cast<time_t>(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(c), static_cast<time_t>(spec.not_after));
  X509_set_pubkey(c, key.get());
  X509V3_CTX context{};
  X509V3_set_ctx(&context, spec.self_signed ? c : ca_cert.get(), c, nullptr, nullptr, 0);
  const auto add = [&](int nid, const char* value) {
    const openssl::X509Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
    EXPECT_TRUE(extension && X509_add_ext(c, extension.get(), -1) == 1) << value;
  };
  if (spec.basic_constraints) add(NID_basic_constraints, spec.basic_constraints);
  add(NID_key_usage, "critical,digitalSignature");
  if (spec.extended_key_usage) add(NID_ext_key_usage, spec.extended_key_usage);
  add(NID_subject_key_identifier, "hash");
  if (spec.authority_key_id && !spec.self_signed) add(NID_authority_key_identifier, "keyid:always");
  if (spec.extra_critical_extension) {
    const openssl::X509Extension extension(
        X509V3_EXT_conf(nullptr, nullptr, spec.extra_critical_extension, "critical,DER:0500"));
    EXPECT_TRUE(extension && X509_add_ext(c, extension.get(), -1) == 1);
  }
  EXPECT_GT(X509_sign(c, spec.self_signed ? key.get() : ca_key.get(), spec.digest), 0);
  return to_pem(c);
}

class AgentVerificationTest : public CertificateAuthorityTest {
 protected:
  AgentVerificationTest() : ca_(material()) {}

  LookAlike agent_like() const {
    LookAlike spec;
    spec.subject = {{"O", "clusteraccess proxy-agent"}, {"CN", id_.str()}};
    return spec;
  }
  std::string look_alike(const LookAlike& spec) const { return make_look_alike(ca_, material(), spec); }
  bool accepted(std::string_view pem, std::int64_t at = kNow) const {
    std::optional<AgentIdentity> identity;
    EXPECT_NO_THROW(identity = ca_.verify_agent_certificate(pem, at));
    EXPECT_EQ(ERR_peek_error(), 0ul) << "the error queue is left dirty";
    return identity.has_value();
  }

  const CertificateAuthority ca_;
  const ClusterId id_ = ClusterId::generate();
};

TEST_F(AgentVerificationTest, AcceptsAnIssuedAgentCertificateAndNamesItsCluster) {
  const AgentCredential credential = ca_.issue(id_, kNow, kAgentValidity);
  const std::optional<AgentIdentity> identity = ca_.verify_agent_certificate(credential.certificate_pem, kNow);
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->cluster_id, id_);
  EXPECT_EQ(identity->serial_hex, credential.serial_hex);
  EXPECT_EQ(identity->not_after, kNow + kAgentValidity.count());
}

TEST_F(AgentVerificationTest, AcceptsOnlyWithinTheValidityPeriod) {
  const std::string pem = ca_.issue(id_, kNow, kAgentValidity).certificate_pem;
  EXPECT_TRUE(accepted(pem, kNow - 300));  // notBefore, with the clock skew
  EXPECT_TRUE(accepted(pem, kNow + kAgentValidity.count() - 1));
  EXPECT_FALSE(accepted(pem, kNow - 301));
  EXPECT_FALSE(accepted(pem, kNow + kAgentValidity.count()));  // notAfter itself is past
  EXPECT_FALSE(accepted(pem, kNow + kAgentValidity.count() + 86400));
}

TEST_F(AgentVerificationTest, RejectsAnotherCasAgentCertificateWithTheSameNames) {
  const CertificateAuthority other(CertificateAuthority::create(kNow, kCaValidity));
  const std::string pem = other.issue(id_, kNow, kAgentValidity).certificate_pem;
  const openssl::X509Cert foreign = parse_certificate(pem);
  const openssl::X509Cert ours = parse_certificate(ca_.certificate_pem());
  ASSERT_EQ(X509_NAME_cmp(X509_get_issuer_name(foreign.get()), X509_get_subject_name(ours.get())), 0);
  EXPECT_FALSE(accepted(pem));
  EXPECT_TRUE(other.verify_agent_certificate(pem, kNow).has_value());
}

TEST_F(AgentVerificationTest, RejectsASelfSignedLookAlike) {
  LookAlike spec = agent_like();
  spec.self_signed = true;
  EXPECT_FALSE(accepted(look_alike(spec)));
}

TEST_F(AgentVerificationTest, RejectsTheCaCertificate) { EXPECT_FALSE(accepted(ca_.certificate_pem())); }

// Each look-alike is signed by this CA's own key and differs from an agent
// certificate in one property; the first is the control that passes.
TEST_F(AgentVerificationTest, RejectsCaSignedCertificatesThatAreNotAgentCertificates) {
  EXPECT_TRUE(accepted(look_alike(agent_like())));

  LookAlike ca_flag = agent_like();
  ca_flag.basic_constraints = "critical,CA:TRUE";
  EXPECT_FALSE(accepted(look_alike(ca_flag)));
  LookAlike no_constraints = agent_like();
  no_constraints.basic_constraints = nullptr;
  EXPECT_FALSE(accepted(look_alike(no_constraints)));
  LookAlike server = agent_like();
  server.extended_key_usage = "serverAuth";
  EXPECT_FALSE(accepted(look_alike(server)));
  LookAlike no_usage = agent_like();
  no_usage.extended_key_usage = nullptr;
  EXPECT_FALSE(accepted(look_alike(no_usage)));
  LookAlike no_key_id = agent_like();
  no_key_id.authority_key_id = false;
  EXPECT_FALSE(accepted(look_alike(no_key_id)));
  LookAlike sha384 = agent_like();
  sha384.digest = EVP_sha384();
  EXPECT_FALSE(accepted(look_alike(sha384)));
  LookAlike zero_serial = agent_like();
  zero_serial.serial = 0;
  EXPECT_FALSE(accepted(look_alike(zero_serial)));
  LookAlike negative_serial = agent_like();
  negative_serial.serial = -5;
  EXPECT_FALSE(accepted(look_alike(negative_serial)));
  LookAlike unknown_critical = agent_like();
  unknown_critical.extra_critical_extension = "1.3.6.1.4.1.55555.1";
  EXPECT_FALSE(accepted(look_alike(unknown_critical)));
  LookAlike expired = agent_like();
  expired.not_after = kNow;
  EXPECT_FALSE(accepted(look_alike(expired)));
}

TEST_F(AgentVerificationTest, RejectsSubjectsOtherThanAnAgentsOwn) {
  const std::string id = id_.str();
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<std::vector<std::pair<std::string, std::string>>> subjects = {
      {{"O", "clusteraccess proxy-agent"}, {"CN", upper}},
      {{"O", "clusteraccess proxy-agent"}, {"CN", "{" + id + "}"}},
      {{"O", "clusteraccess proxy-agent"}, {"CN", "clusteraccess agent CA"}},
      {{"O", "someone else"}, {"CN", id}},
      {{"CN", id}},
      {{"O", "clusteraccess proxy-agent"}},
      {{"O", "clusteraccess proxy-agent"}, {"OU", "x"}, {"CN", id}},
      {{"O", "clusteraccess proxy-agent"}, {"CN", id}, {"CN", ClusterId::generate().str()}},
      {{"O", "clusteraccess proxy-agent"}, {"O", "clusteraccess proxy-agent"}, {"CN", id}},
  };
  for (const auto& subject : subjects) {
    LookAlike spec = agent_like();
    spec.subject = subject;
    EXPECT_FALSE(accepted(look_alike(spec))) << subject.size() << " entries, first " << subject.front().second;
  }
}

TEST_F(AgentVerificationTest, RejectsAnythingButOneCertificateBlock) {
  const std::string pem = ca_.issue(id_, kNow, kAgentValidity).certificate_pem;
  const openssl::X509Cert cert = parse_certificate(pem);
  const std::string der = der_of(cert.get());
  ASSERT_TRUE(accepted(pem));
  EXPECT_TRUE(accepted(pem + "\n \r\n\t"));  // trailing whitespace only

  EXPECT_FALSE(accepted(""));
  EXPECT_FALSE(accepted("garbage"));
  EXPECT_FALSE(accepted(std::string(100, '\0')));
  EXPECT_FALSE(accepted(pem.substr(0, pem.size() / 2)));
  EXPECT_FALSE(accepted(pem + "trailing"));
  EXPECT_FALSE(accepted(pem + pem));
  EXPECT_FALSE(accepted(pem + ca_.certificate_pem()));
  EXPECT_FALSE(accepted("leading\n" + pem));
  EXPECT_FALSE(accepted("\n" + pem));
  EXPECT_FALSE(accepted(pem_block("TRUSTED CERTIFICATE", der)));
  EXPECT_FALSE(accepted(pem_block("X509 CERTIFICATE", der)));
  EXPECT_FALSE(accepted(pem_block("CERTIFICATE", der + std::string(1, '\0'))));  // bytes after the DER
  const std::string encrypted_header =
      "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n";
  EXPECT_FALSE(accepted(pem_block("CERTIFICATE", der, encrypted_header)));
  EXPECT_FALSE(accepted(pem_block("CERTIFICATE", der.substr(0, der.size() - 1))));
  EXPECT_TRUE(accepted(pem_block("CERTIFICATE", der)));  // the control: the same block, well formed
}

TEST_F(AgentVerificationTest, RejectsInputOver64KiB) {
  const std::string pem = ca_.issue(id_, kNow, kAgentValidity).certificate_pem;
  const std::string at_limit = pem + std::string(64 * 1024 - pem.size(), '\n');
  EXPECT_TRUE(accepted(at_limit));
  EXPECT_FALSE(accepted(at_limit + "\n"));
  EXPECT_FALSE(accepted(pem + std::string(1 << 20, 'A')));
}

// Random one-byte changes to the base64 of a good certificate: never a
// throw, never a dirty error queue, and never another identity accepted
// (a change in the unused bits of the last base64 digit leaves the DER as
// it was, so the certificate may still be accepted, as itself).
TEST_F(AgentVerificationTest, NeverThrowsOnMangledCertificates) {
  const std::string pem = ca_.issue(id_, kNow, kAgentValidity).certificate_pem;
  const std::optional<AgentIdentity> original = ca_.verify_agent_certificate(pem, kNow);
  ASSERT_TRUE(original);
  std::mt19937_64 random(7);
  const std::size_t body_begin = pem.find('\n') + 1;
  const std::size_t body_end = pem.rfind("-----END");
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n- ";
  int rejected = 0;
  for (int i = 0; i < 500; ++i) {
    std::string mangled = pem;
    mangled[body_begin + random() % (body_end - body_begin)] = kAlphabet[random() % (sizeof kAlphabet - 1)];
    if (i % 50 == 0) mangled[body_begin + random() % (body_end - body_begin)] = '\0';
    std::optional<AgentIdentity> identity;
    EXPECT_NO_THROW(identity = ca_.verify_agent_certificate(mangled, kNow)) << i;
    EXPECT_EQ(ERR_peek_error(), 0ul) << i;
    if (identity) {
      EXPECT_EQ(identity->cluster_id, original->cluster_id) << i;
      EXPECT_EQ(identity->serial_hex, original->serial_hex) << i;
    } else {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 400);
}

}  // namespace
}  // namespace clusteraccess
