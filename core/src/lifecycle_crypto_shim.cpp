#include "lifecycle_crypto_shim.hpp"

#include <algorithm>
#include <climits>
#include <ctime>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "clusteraccess/error.hpp"
#include "openssl_handles.hpp"

namespace clusteraccess {

namespace {

using Crl = std::unique_ptr<X509_CRL, openssl::Deleter<X509_CRL, X509_CRL_free>>;
using Revoked = std::unique_ptr<X509_REVOKED, openssl::Deleter<X509_REVOKED, X509_REVOKED_free>>;
using Time = std::unique_ptr<ASN1_TIME, openssl::Deleter<ASN1_TIME, ASN1_TIME_free>>;

constexpr std::string_view kAgentOrganization = "clusteraccess proxy-agent";

void check(bool ok, std::string_view detail) {
  if (!ok) {
    ERR_clear_error();
    throw Error::certificates(detail);
  }
}

int no_passphrase(char*, int, int, void*) { return -1; }

openssl::Bio memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) return openssl::Bio(nullptr);
  return openssl::Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

Time asn1_time(std::int64_t when) {
  return Time(ASN1_TIME_adj(nullptr, static_cast<time_t>(when), 0, 0));
}

std::optional<std::string> entry_text(X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0 || X509_NAME_get_index_by_NID(name, nid, index) >= 0) return std::nullopt;  // one only
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  if (data == nullptr) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

std::optional<std::int64_t> unix_time(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

// The serial as CertificateAuthority::issue writes it: lowercase hex, no
// leading zeros.
std::optional<std::string> serial_hex(const ASN1_INTEGER* serial) {
  const openssl::BigNum number(ASN1_INTEGER_to_BN(serial, nullptr));
  if (number == nullptr || BN_is_negative(number.get()) || BN_is_zero(number.get())) return std::nullopt;
  const openssl::String hex(BN_bn2hex(number.get()));
  if (hex == nullptr) return std::nullopt;
  std::string_view digits(hex.get());
  digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
  std::string out;
  for (const char c : digits) out += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

}  // namespace

struct LifecycleCrypto::Keys {
  openssl::Pkey key;
  openssl::X509Cert certificate;
};

LifecycleCrypto::LifecycleCrypto(const CaMaterial& material) : keys_(std::make_unique<Keys>()) {
  const openssl::Bio cert_bio = memory_bio(material.certificate_pem);
  check(cert_bio != nullptr, "CA certificate does not parse");
  keys_->certificate.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, no_passphrase, nullptr));
  check(keys_->certificate != nullptr, "CA certificate does not parse");
  const openssl::Bio key_bio = memory_bio(material.private_key_pem.view());
  check(key_bio != nullptr, "CA key does not parse");
  keys_->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  check(keys_->key != nullptr && X509_check_private_key(keys_->certificate.get(), keys_->key.get()) == 1,
        "CA key does not parse or does not match its certificate");
}

LifecycleCrypto::~LifecycleCrypto() = default;
LifecycleCrypto::LifecycleCrypto(LifecycleCrypto&&) noexcept = default;
LifecycleCrypto& LifecycleCrypto::operator=(LifecycleCrypto&&) noexcept = default;

std::string LifecycleCrypto::revocation_list_pem(const std::vector<RevokedCertificate>& revoked,
                                                 std::int64_t now,
                                                 std::chrono::seconds next_update_after) const {
  const Crl crl(X509_CRL_new());
  check(crl != nullptr && X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(keys_->certificate.get())) == 1,
        "revocation list failed");
  const Time this_update = asn1_time(now);
  const Time next_update = asn1_time(now + next_update_after.count());
  check(this_update != nullptr && next_update != nullptr &&
            X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) == 1,
        "revocation list failed");
  for (const auto& entry : revoked) {
    BIGNUM* raw = nullptr;
    check(BN_hex2bn(&raw, entry.serial_hex.c_str()) > 0, "revocation list: bad serial");
    const openssl::BigNum number(raw);
    const openssl::Asn1Integer serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
    Revoked item(X509_REVOKED_new());
    const Time when = asn1_time(entry.revoked_at);
    check(serial != nullptr && item != nullptr && when != nullptr &&
              X509_REVOKED_set_serialNumber(item.get(), serial.get()) == 1 &&
              X509_REVOKED_set_revocationDate(item.get(), when.get()) == 1 &&
              X509_CRL_add0_revoked(crl.get(), item.get()) == 1,
          "revocation list failed");
    item.release();  // owned by the CRL now
  }
  check(X509_CRL_sort(crl.get()) == 1 && X509_CRL_sign(crl.get(), keys_->key.get(), EVP_sha256()) > 0,
        "revocation list signing failed");
  const openssl::Bio out(BIO_new(BIO_s_mem()));
  check(out != nullptr && PEM_write_bio_X509_CRL(out.get(), crl.get()) == 1, "revocation list failed");
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

std::optional<AgentIdentity> LifecycleCrypto::verify_agent_certificate(std::string_view certificate_pem,
                                                                       std::int64_t now) const {
  const openssl::Bio bio = memory_bio(certificate_pem);
  if (bio == nullptr) return std::nullopt;
  const openssl::X509Cert cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (cert == nullptr) return std::nullopt;
  X509* ca = keys_->certificate.get();
  // Signed by this CA, issued under its name, not itself a CA.
  if (X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca)) != 0 ||
      X509_verify(cert.get(), keys_->key.get()) != 1 || X509_check_ca(cert.get()) != 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  // Valid at `now`.
  const auto not_before = unix_time(X509_get0_notBefore(cert.get()));
  const auto not_after = unix_time(X509_get0_notAfter(cert.get()));
  if (!not_before || !not_after || now < *not_before || now > *not_after) return std::nullopt;
  // An agent certificate: O=clusteraccess proxy-agent, CN=<cluster id>.
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto organization = entry_text(subject, NID_organizationName);
  const auto common_name = entry_text(subject, NID_commonName);
  if (!organization || *organization != kAgentOrganization || !common_name) return std::nullopt;
  const auto cluster_id = ClusterId::try_parse(*common_name);
  auto serial = serial_hex(X509_get0_serialNumber(cert.get()));
  if (!cluster_id || !serial) return std::nullopt;
  return AgentIdentity{*cluster_id, std::move(*serial), *not_after};
}

}  // namespace clusteraccess
