#include "certificate_authority.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <ctime>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

#include "clusteraccess/error.hpp"
#include "fault_injection.hpp"
#include "openssl_handles.hpp"

namespace clusteraccess {

struct CertificateAuthority::Keys {
  openssl::Pkey key;
  openssl::X509Cert certificate;
  std::string certificate_pem;
};

namespace {

constexpr std::int64_t kClockSkew = 5 * 60;
constexpr std::string_view kCaCommonName = "clusteraccess agent CA";
constexpr std::string_view kAgentOrganization = "clusteraccess proxy-agent";

[[noreturn]] void fail(std::string_view detail) {
  // The error queue is per thread; leave it clean for the next caller.
  ERR_clear_error();
  throw Error::certificates(detail);
}

void check(bool ok, std::string_view detail) {
  if (!ok) fail(detail);
}

// A P-256 key-generation context, made once per thread (a context must not be
// shared between threads) and reused: a new context builds the curve's group
// again for its first key, work that a kept context does once.
EVP_PKEY_CTX* p256_keygen_context() {
  thread_local openssl::PkeyContext context;
  if (context == nullptr) {
    openssl::PkeyContext made(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (made != nullptr && EVP_PKEY_keygen_init(made.get()) == 1 &&
        EVP_PKEY_CTX_set_group_name(made.get(), "P-256") == 1) {
      context = std::move(made);
    }
  }
  return context.get();
}

openssl::Pkey generate_p256() {
  EVP_PKEY_CTX* context = p256_keygen_context();
  check(!fault::injected(fault::Point::kKeyGeneration) && context != nullptr, "key generation failed");
  EVP_PKEY* raw = nullptr;
  check(EVP_PKEY_generate(context, &raw) == 1, "key generation failed");
  return openssl::Pkey(raw);
}

// The public key of a P-256 key as an uncompressed point: 0x04 || X || Y.
using P256Point = std::array<unsigned char, 65>;

P256Point public_point(EVP_PKEY* key) {
  P256Point point{};
  std::size_t length = 0;
  check(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(), point.size(),
                                        &length) == 1 &&
            length == point.size() && point[0] == 0x04,
        "key encoding failed");
  return point;
}

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  std::array<char, 64> name{};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &length) != 1) return false;
  return OBJ_sn2nid(name.data()) == NID_X9_62_prime256v1 ||
         EC_curve_nist2nid(name.data()) == NID_X9_62_prime256v1;
}

struct Serial {
  openssl::Asn1Integer asn1;
  std::string hex;
};

Serial random_serial() {
  std::array<unsigned char, 16> bytes{};
  check(!fault::injected(fault::Point::kRandomBytes) &&
            RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1,
        "random source failed");
  // Top bit clear (positive) and the next one set (non-zero, always 16 bytes
  // and 32 hex digits): 126 random bits.
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);

  const openssl::BigNum number(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  check(number != nullptr, "serial number failed");
  Serial serial{openssl::Asn1Integer(BN_to_ASN1_INTEGER(number.get(), nullptr)), {}};
  const openssl::String hex(BN_bn2hex(number.get()));
  check(serial.asn1 != nullptr && hex != nullptr, "serial number failed");

  std::string_view digits(hex.get());
  digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
  serial.hex.reserve(digits.size());
  for (const char c : digits) {
    serial.hex += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return serial;
}

using NameEntries = std::initializer_list<std::pair<const char*, std::string_view>>;

void add_name_entries(X509_NAME* name, NameEntries entries) {
  for (const auto& [field, value] : entries) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(value.data()),
                                     static_cast<int>(value.size()), -1, 0) == 1,
          "certificate name failed");
  }
}

// [not_before, not_after] in Unix seconds, checked for overflow.
std::pair<std::int64_t, std::int64_t> validity_period(std::int64_t now, std::chrono::seconds validity) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const std::int64_t seconds = validity.count();
  check(seconds > 0 && now > kMin + kClockSkew && now <= kMax - seconds, "bad validity period");
  return {now - kClockSkew, now + seconds};
}

// The SubjectPublicKeyInfo of a P-256 key, set from its point. X509_set_pubkey
// gives the same bytes, but OpenSSL 3.0 gets them by running the key through
// an OSSL_ENCODER and back through an OSSL_DECODER, which costs more than the
// key generation itself.
bool set_p256_public_key(X509* cert, const P256Point& point) {
  auto* encoded = static_cast<unsigned char*>(OPENSSL_memdup(point.data(), point.size()));
  if (encoded == nullptr) return false;
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                             V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), encoded,
                             static_cast<int>(point.size())) != 1) {
    OPENSSL_free(encoded);
    return false;
  }
  return true;
}

// The subject is built in the certificate itself (X509_set_subject_name would
// copy a name built outside); `issuer` nullptr makes a self-issued one.
openssl::X509Cert new_certificate(const Serial& serial, std::pair<std::int64_t, std::int64_t> period,
                                  NameEntries subject, X509_NAME* issuer, const P256Point& key) {
  openssl::X509Cert certificate(X509_new());
  check(certificate != nullptr, "certificate creation failed");
  X509* cert = certificate.get();
  add_name_entries(X509_get_subject_name(cert), subject);
  check(X509_set_version(cert, X509_VERSION_3) == 1 &&
            X509_set_serialNumber(cert, serial.asn1.get()) == 1 &&
            X509_set_issuer_name(cert, issuer != nullptr ? issuer : X509_get_subject_name(cert)) == 1 &&
            set_p256_public_key(cert, key),
        "certificate creation failed");
  check(ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<std::time_t>(period.first)) != nullptr &&
            ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<std::time_t>(period.second)) != nullptr,
        "bad validity period");
  return certificate;
}

void add_extension(X509* cert, X509V3_CTX* context, int nid, const char* value) {
  const openssl::X509Extension extension(X509V3_EXT_conf_nid(nullptr, context, nid, value));
  check(extension != nullptr && X509_add_ext(cert, extension.get(), -1) == 1,
        "certificate extension failed");
}

void sign(X509* cert, EVP_PKEY* key) {
  check(!fault::injected(fault::Point::kSign) && X509_sign(cert, key, EVP_sha256()) > 0,
        "certificate signing failed");
}

openssl::Bio memory_bio() {
  openssl::Bio bio(BIO_new(BIO_s_mem()));
  check(bio != nullptr, "out of memory");
  return bio;
}

// One allocation of the exact size, so no partial copy of a key is left behind
// by a reallocation. (The memory BIO itself clears its buffer when freed.)
std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  check(length > 0 && data != nullptr, "PEM encoding failed");
  return std::string(data, static_cast<std::size_t>(length));
}

std::string certificate_to_pem(X509* cert) {
  const openssl::Bio bio = memory_bio();
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM encoding failed");
  return bio_contents(bio.get());
}

// The PKCS#8 PrivateKeyInfo (RFC 5208) of a P-256 key holding an ECPrivateKey
// (RFC 5915) with the public key and without the curve (named once, in the
// AlgorithmIdentifier): byte for byte what PEM_write_bio_PrivateKey writes.
// OpenSSL 3.0 gets those bytes through an OSSL_ENCODER chain that costs more
// than the key generation; the structure is fixed, so it is written here.
constexpr std::array<unsigned char, 36> kP256PrivateKeyInfoHead = {
    0x30, 0x81, 0x87,                                            // SEQUENCE (135)
    0x02, 0x01, 0x00,                                            //   INTEGER 0
    0x30, 0x13,                                                  //   SEQUENCE (19)
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,        //     id-ecPublicKey
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,  //     prime256v1
    0x04, 0x6d,                                                  //   OCTET STRING (109)
    0x30, 0x6b,                                                  //     SEQUENCE (107)
    0x02, 0x01, 0x01,                                            //       INTEGER 1
    0x04, 0x20,                                                  //       OCTET STRING (32): d
};
constexpr std::array<unsigned char, 5> kP256PrivateKeyInfoPublicKey = {
    0xa1, 0x44,        //       [1] (68)
    0x03, 0x42, 0x00,  //         BIT STRING (66), no unused bits: the point
};

SecretString private_key_to_pem(EVP_PKEY* key, const P256Point& point) {
  std::array<unsigned char, 138> der{};
  auto* out = std::copy(kP256PrivateKeyInfoHead.begin(), kP256PrivateKeyInfoHead.end(), der.begin());
  BIGNUM* scalar = nullptr;
  const bool have_scalar = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) == 1 &&
                           BN_bn2binpad(scalar, out, 32) == 32;
  BN_clear_free(scalar);
  out = std::copy(kP256PrivateKeyInfoPublicKey.begin(), kP256PrivateKeyInfoPublicKey.end(), out + 32);
  std::copy(point.begin(), point.end(), out);

  const openssl::Bio bio = memory_bio();
  // PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted.
  const bool written =
      have_scalar &&
      PEM_write_bio(bio.get(), "PRIVATE KEY", "", der.data(), static_cast<long>(der.size())) > 0;
  OPENSSL_cleanse(der.data(), der.size());
  check(written, "PEM encoding failed");
  return SecretString(bio_contents(bio.get()));
}

openssl::Bio read_only_bio(std::string_view pem, std::string_view detail) {
  check(!pem.empty() && pem.size() <= static_cast<std::size_t>(INT_MAX), detail);
  openssl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  check(bio != nullptr, detail);
  return bio;
}

// Without a callback OpenSSL would prompt on the terminal for an encrypted key.
int no_passphrase(char*, int, int, void*) { return -1; }

openssl::X509Cert read_certificate(std::string_view pem) {
  const openssl::Bio bio = read_only_bio(pem, "CA certificate does not parse");
  openssl::X509Cert cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  check(cert != nullptr, "CA certificate does not parse");
  return cert;
}

openssl::Pkey read_private_key(std::string_view pem) {
  const openssl::Bio bio = read_only_bio(pem, "CA key does not parse");
  openssl::Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  check(key != nullptr, "CA key does not parse");
  return key;
}


// --- Revocation list ---------------------------------------------------------

// The largest serial RFC 5280 allows: 20 bytes, 40 hex digits.
constexpr std::size_t kMaxSerialDigits = 40;

// `hex` as `AgentCredential::serial_hex` writes serials: lowercase, no
// leading zeros, not empty. Only this form is accepted, so that one serial
// has one spelling and two spellings cannot list it twice.
bool is_serial_hex(std::string_view hex) {
  if (hex.empty() || hex.size() > kMaxSerialDigits || hex.front() == '0') return false;
  return std::all_of(hex.begin(), hex.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

openssl::Asn1Integer serial_from_hex(const std::string& hex) {
  BIGNUM* raw = nullptr;
  const int digits = BN_hex2bn(&raw, hex.c_str());
  const openssl::BigNum number(raw);
  check(number != nullptr && digits == static_cast<int>(hex.size()), "bad revoked serial");
  openssl::Asn1Integer serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  check(serial != nullptr, "bad revoked serial");
  return serial;
}

openssl::Asn1Time asn1_time(std::int64_t at) {
  check(at >= std::numeric_limits<std::time_t>::min() && at <= std::numeric_limits<std::time_t>::max(),
        "bad revocation list time");
  openssl::Asn1Time time(ASN1_TIME_set(nullptr, static_cast<std::time_t>(at)));
  check(time != nullptr, "bad revocation list time");
  return time;
}

// The entries to list: one per serial, with its earliest date, in ascending
// serial order (equal-length lowercase hex without leading zeros orders as
// its number), so that the same revocations always give the same list.
std::vector<RevokedCertificate> distinct_by_serial(const std::vector<RevokedCertificate>& revoked) {
  std::vector<RevokedCertificate> entries;
  entries.reserve(revoked.size());
  for (const RevokedCertificate& entry : revoked) {
    check(is_serial_hex(entry.serial_hex), "bad revoked serial");
    entries.push_back(entry);
  }
  const auto by_serial_then_date = [](const RevokedCertificate& a, const RevokedCertificate& b) {
    if (a.serial_hex.size() != b.serial_hex.size()) return a.serial_hex.size() < b.serial_hex.size();
    if (a.serial_hex != b.serial_hex) return a.serial_hex < b.serial_hex;
    return a.revoked_at < b.revoked_at;
  };
  std::sort(entries.begin(), entries.end(), by_serial_then_date);
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const RevokedCertificate& a, const RevokedCertificate& b) {
                              return a.serial_hex == b.serial_hex;
                            }),
                entries.end());
  return entries;
}

void add_revoked(X509_CRL* crl, const RevokedCertificate& entry) {
  openssl::X509Revoked revoked(X509_REVOKED_new());
  check(revoked != nullptr, "revocation list creation failed");
  const openssl::Asn1Integer serial = serial_from_hex(entry.serial_hex);
  const openssl::Asn1Time date = asn1_time(entry.revoked_at);
  check(X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) == 1 &&
            X509_REVOKED_set_revocationDate(revoked.get(), date.get()) == 1,
        "revocation list creation failed");
  check(X509_CRL_add0_revoked(crl, revoked.get()) == 1, "revocation list creation failed");
  static_cast<void>(revoked.release());  // the CRL owns it now
}

std::string crl_to_pem(X509_CRL* crl) {
  const openssl::Bio bio = memory_bio();
  check(PEM_write_bio_X509_CRL(bio.get(), crl) == 1, "PEM encoding failed");
  return bio_contents(bio.get());
}

// --- Agent certificate verification -----------------------------------------

// Larger than any certificate `issue` makes by two orders of magnitude; a
// bound so that a peer cannot make the parser chew on megabytes.
constexpr std::size_t kMaxAgentCertificatePem = 64 * 1024;
constexpr std::string_view kPemCertificateBegin = "-----BEGIN CERTIFICATE-----";

bool is_pem_whitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The DER of the one PEM "CERTIFICATE" block `pem` is made of, or nullptr.
// PEM_read_bio alone would skip text before the block and ignore what follows
// it; here the block must come first and only whitespace may follow.
openssl::X509Cert parse_single_certificate(std::string_view pem) {
  if (pem.size() > kMaxAgentCertificatePem || pem.substr(0, kPemCertificateBegin.size()) != kPemCertificateBegin) {
    return nullptr;
  }
  const openssl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return nullptr;
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long length = 0;
  const bool read = PEM_read_bio(bio.get(), &name, &header, &der, &length) == 1;
  const openssl::String owned_name(name);
  const openssl::String owned_header(header);
  const openssl::Bytes owned_der(der);
  if (!read || std::string_view(name) != "CERTIFICATE" || *header != '\0' || length <= 0) return nullptr;

  char* rest = nullptr;
  const long rest_length = BIO_get_mem_data(bio.get(), &rest);
  if (rest_length < 0 || !std::all_of(rest, rest + rest_length, is_pem_whitespace)) return nullptr;

  const unsigned char* cursor = der;
  openssl::X509Cert cert(d2i_X509(nullptr, &cursor, length));
  if (cert == nullptr || cursor != der + length) return nullptr;  // bytes after the certificate
  return cert;
}

// The text of the only `nid` entry of `name`, or nothing when there is none
// or more than one.
std::optional<std::string_view> only_entry(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0 || X509_NAME_get_index_by_NID(name, nid, index) >= 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  const int length = ASN1_STRING_length(data);
  if (data == nullptr || length < 0) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                          static_cast<std::size_t>(length));
}

// `time` as Unix seconds.
std::optional<std::int64_t> unix_seconds(const ASN1_TIME* time) {
  const openssl::Asn1Time epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (epoch == nullptr || ASN1_TIME_diff(&days, &seconds, epoch.get(), time) != 1) return std::nullopt;
  return static_cast<std::int64_t>(days) * 86400 + seconds;
}

// The serial of `cert` as `random_serial` writes it, or nothing when it is
// not positive.
std::optional<std::string> positive_serial_hex(X509* cert) {
  const openssl::BigNum number(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (number == nullptr || BN_is_negative(number.get()) || BN_is_zero(number.get())) return std::nullopt;
  const openssl::String hex(BN_bn2hex(number.get()));
  if (hex == nullptr) return std::nullopt;
  std::string_view digits(hex.get());
  digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
  std::string out;
  out.reserve(digits.size());
  for (const char c : digits) out += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// The checks of `verify_agent_certificate` on a parsed certificate.
std::optional<AgentIdentity> agent_identity(X509* ca, X509* cert, std::int64_t now) {
  // Signed by this CA: its name and key identifier, then its signature.
  if (X509_get_version(cert) != X509_VERSION_3 || X509_check_issued(ca, cert) != X509_V_OK ||
      X509_get0_authority_key_id(cert) == nullptr ||
      X509_get_signature_nid(cert) != NID_ecdsa_with_SHA256 || X509_verify(cert, X509_get0_pubkey(ca)) != 1) {
    return std::nullopt;
  }
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr || !is_p256(key)) return std::nullopt;

  // An agent certificate: a leaf for client authentication. The flags are
  // computed from the extensions; EXFLAG_INVALID marks one that does not
  // parse, EXFLAG_CRITICAL a critical one OpenSSL does not know.
  const std::uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & (EXFLAG_INVALID | EXFLAG_CRITICAL | EXFLAG_CA)) != 0 || (flags & EXFLAG_BCONS) == 0 ||
      (flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT) == 0 ||
      X509_check_ca(cert) != 0) {
    return std::nullopt;
  }

  // Subject exactly O=clusteraccess proxy-agent, CN=<cluster id>.
  const X509_NAME* subject = X509_get_subject_name(cert);
  const auto organization = only_entry(subject, NID_organizationName);
  const auto common_name = only_entry(subject, NID_commonName);
  if (X509_NAME_entry_count(subject) != 2 || organization != kAgentOrganization || !common_name) {
    return std::nullopt;
  }
  std::optional<ClusterId> cluster = ClusterId::try_parse(*common_name);
  if (!cluster) return std::nullopt;

  // Valid at `now`: notBefore <= now < notAfter (-2 is a time that does not parse).
  const auto at = static_cast<std::time_t>(now);
  const int started = ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), at);
  const int ends = ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), at);
  if (started == -2 || started > 0 || ends == -2 || ends <= 0) return std::nullopt;
  const auto not_after = unix_seconds(X509_get0_notAfter(cert));
  auto serial = positive_serial_hex(cert);
  if (!not_after || !serial) return std::nullopt;

  return AgentIdentity{*cluster, std::move(*serial), *not_after};
}

}  // namespace

CaMaterial CertificateAuthority::create(std::int64_t now, std::chrono::seconds validity) {
  const auto period = validity_period(now, validity);
  const openssl::Pkey key = generate_p256();
  const Serial serial = random_serial();
  const P256Point point = public_point(key.get());
  const openssl::X509Cert certificate =
      new_certificate(serial, period, {{"CN", kCaCommonName}}, nullptr, point);

  X509V3_CTX context{};
  X509V3_set_ctx(&context, certificate.get(), certificate.get(), nullptr, nullptr, 0);
  // It signs agent certificates only, never another CA.
  add_extension(certificate.get(), &context, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(certificate.get(), &context, NID_key_usage, "critical,keyCertSign,cRLSign");
  // The subject key identifier first: the authority key identifier of a
  // self-signed certificate is copied from it.
  add_extension(certificate.get(), &context, NID_subject_key_identifier, "hash");
  add_extension(certificate.get(), &context, NID_authority_key_identifier, "keyid:always");
  sign(certificate.get(), key.get());

  return CaMaterial{certificate_to_pem(certificate.get()), private_key_to_pem(key.get(), point)};
}

CertificateAuthority::CertificateAuthority(const CaMaterial& material) : keys_(std::make_unique<Keys>()) {
  keys_->certificate = read_certificate(material.certificate_pem);
  keys_->key = read_private_key(material.private_key_pem.view());
  X509* cert = keys_->certificate.get();
  EVP_PKEY* key = keys_->key.get();
  check(is_p256(key), "CA key is not EC P-256");
  check(X509_check_private_key(cert, key) == 1, "CA key does not match the CA certificate");
  // 1: an X.509 v3 certificate with CA:TRUE (and keyCertSign, if keyUsage is present).
  check(X509_check_ca(cert) == 1, "CA certificate is not a CA");
  check(X509_verify(cert, key) == 1, "CA certificate is not self-signed");
  // Re-encoded, so that only the one certificate that was checked is handed out.
  keys_->certificate_pem = certificate_to_pem(cert);
}

CertificateAuthority::~CertificateAuthority() = default;
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;

const std::string& CertificateAuthority::certificate_pem() const noexcept { return keys_->certificate_pem; }

std::string CertificateAuthority::new_serial() { return random_serial().hex; }

AgentCredential CertificateAuthority::issue(const ClusterId& cluster, std::int64_t now,
                                            std::chrono::seconds validity) const {
  return issue(cluster, now, validity, new_serial());
}

AgentCredential CertificateAuthority::issue(const ClusterId& cluster, std::int64_t now, std::chrono::seconds validity,
                                            const std::string& serial_hex) const {
  check(is_serial_hex(serial_hex), "bad serial");
  X509* ca = keys_->certificate.get();
  const auto period = validity_period(now, validity);
  const ASN1_TIME* ca_not_after = X509_get0_notAfter(ca);
  check(ASN1_TIME_cmp_time_t(ca_not_after, static_cast<std::time_t>(now)) > 0, "CA certificate has expired");

  const openssl::Pkey key = generate_p256();
  const P256Point point = public_point(key.get());
  const Serial serial{serial_from_hex(serial_hex), serial_hex};
  const std::string id = cluster.str();
  const openssl::X509Cert certificate =
      new_certificate(serial, period, {{"O", kAgentOrganization}, {"CN", id}},
                      X509_get_subject_name(ca), point);
  X509* cert = certificate.get();
  // A certificate outliving its CA is of no use: end it with the CA.
  const int cmp = ASN1_TIME_cmp_time_t(ca_not_after, static_cast<std::time_t>(period.second));
  check(cmp != -2, "bad validity period");
  if (cmp < 0) check(X509_set1_notAfter(cert, ca_not_after) == 1, "bad validity period");

  X509V3_CTX context{};
  X509V3_set_ctx(&context, ca, cert, nullptr, nullptr, 0);
  add_extension(cert, &context, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert, &context, NID_key_usage, "critical,digitalSignature");
  add_extension(cert, &context, NID_ext_key_usage, "clientAuth");
  add_extension(cert, &context, NID_subject_key_identifier, "hash");
  add_extension(cert, &context, NID_authority_key_identifier, "keyid:always");
  sign(cert, keys_->key.get());

  return AgentCredential{certificate_to_pem(cert), private_key_to_pem(key.get(), point), serial.hex};
}

std::string CertificateAuthority::revocation_list_pem(const std::vector<RevokedCertificate>& revoked,
                                                      std::int64_t now,
                                                      std::chrono::seconds next_update_after) const {
  const std::int64_t seconds = next_update_after.count();
  check(now >= 0 && seconds > 0 && now <= std::numeric_limits<std::int64_t>::max() - seconds,
        "bad revocation list period");
  const std::vector<RevokedCertificate> entries = distinct_by_serial(revoked);
  X509* ca = keys_->certificate.get();

  openssl::X509Crl list(X509_CRL_new());
  check(list != nullptr, "revocation list creation failed");
  X509_CRL* crl = list.get();
  const openssl::Asn1Time this_update = asn1_time(now);
  const openssl::Asn1Time next_update = asn1_time(now + seconds);
  // Version 2 (the value 1): a CRL with extensions must say so (RFC 5280, 5.1.2.1).
  check(X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) == 1 &&
            X509_CRL_set1_lastUpdate(crl, this_update.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl, next_update.get()) == 1,
        "revocation list creation failed");
  for (const RevokedCertificate& entry : entries) add_revoked(crl, entry);

  // The authority key identifier ties the list to the CA key a verifier
  // holds (the CA's subject key identifier, as in the agent certificates);
  // the CRL number is required by RFC 5280 and only ever grows: it is `now`.
  X509V3_CTX context{};
  X509V3_set_ctx(&context, ca, nullptr, nullptr, crl, 0);
  const openssl::X509Extension key_id(
      X509V3_EXT_conf_nid(nullptr, &context, NID_authority_key_identifier, "keyid:always"));
  const openssl::Asn1Integer number(ASN1_INTEGER_new());
  check(key_id != nullptr && X509_CRL_add_ext(crl, key_id.get(), -1) == 1 && number != nullptr &&
            ASN1_INTEGER_set_int64(number.get(), now) == 1 &&
            X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, 0) == 1,
        "revocation list extension failed");
  check(X509_CRL_sort(crl) == 1, "revocation list creation failed");
  check(X509_CRL_sign(crl, keys_->key.get(), EVP_sha256()) > 0, "revocation list signing failed");
  return crl_to_pem(crl);
}

std::optional<AgentIdentity> CertificateAuthority::verify_agent_certificate(std::string_view certificate_pem,
                                                                            std::int64_t now) const {
  const openssl::X509Cert cert = parse_single_certificate(certificate_pem);
  std::optional<AgentIdentity> identity;
  if (cert != nullptr) identity = agent_identity(keys_->certificate.get(), cert.get(), now);
  // Rejections leave errors on this thread's queue; the next caller must not see them.
  ERR_clear_error();
  return identity;
}

}  // namespace clusteraccess
