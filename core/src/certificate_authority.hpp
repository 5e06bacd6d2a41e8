// CertificateAuthority: the installation's CA, and the agent credentials it issues.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ca_material.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "secret_string.hpp"

namespace clusteraccess {

/// A freshly issued agent credential. The key exists only in memory.
struct AgentCredential {
  std::string certificate_pem;
  SecretString private_key_pem;  ///< PKCS#8 PEM, unencrypted
  std::string serial_hex;        ///< lowercase hex, no leading zeros
};

/// A certificate this CA revoked, as a revocation list lists it.
struct RevokedCertificate {
  std::string serial_hex;    ///< lowercase hex, no leading zeros (as `AgentCredential::serial_hex`)
  std::int64_t revoked_at;   ///< Unix seconds
};

/// Who an agent certificate of this CA speaks for (`verify_agent_certificate`).
struct AgentIdentity {
  ClusterId cluster_id;      ///< the certificate's CN
  std::string serial_hex;    ///< lowercase hex, no leading zeros
  std::int64_t not_after;    ///< Unix seconds; the certificate is valid before it
};

/// An EC P-256 certificate authority (OpenSSL 3 EVP and X509 APIs).
///
/// `issue` may be called from several threads at once: it only reads the
/// loaded key and certificate.
class CertificateAuthority {
 public:
  /// Makes a new self-signed CA: a fresh P-256 key, subject
  /// "CN=clusteraccess agent CA", CA:TRUE (pathlen 0) with keyCertSign/cRLSign,
  /// valid from `now` - 5 minutes (clock skew) to `now` + `validity`. Throws
  /// `Error::certificates` on any OpenSSL failure or a non-positive `validity`.
  static CaMaterial create(std::int64_t now, std::chrono::seconds validity);

  /// Loads `material`; throws `Error::certificates` when it does not parse,
  /// is not an EC P-256 CA (X.509 v3, CA:TRUE, self-signed), or the key does
  /// not match the certificate. An encrypted key is rejected, never prompted for.
  explicit CertificateAuthority(const CaMaterial& material);
  ~CertificateAuthority();
  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;

  /// Issues the agent credential of `cluster`: a fresh P-256 key and a
  /// certificate signed by this CA with subject "CN=<cluster id>,
  /// O=clusteraccess proxy-agent", extendedKeyUsage clientAuth, keyUsage
  /// digitalSignature (critical), CA:FALSE, a unique random positive serial,
  /// valid from `now` - 5 minutes (clock skew) to `now` + `validity`, but
  /// never past the CA certificate's own end. Throws `Error::certificates` on
  /// any OpenSSL failure, a non-positive `validity`, or when the CA
  /// certificate has expired at `now`.
  AgentCredential issue(const ClusterId& cluster, std::int64_t now,
                        std::chrono::seconds validity) const;
  /// `issue` with the serial `serial_hex`, chosen beforehand by `new_serial`:
  /// a download's commit can then go to the storage, which records the
  /// serial, before the key is made. Throws `Error::certificates` also for a
  /// serial not written as `new_serial` writes it.
  AgentCredential issue(const ClusterId& cluster, std::int64_t now, std::chrono::seconds validity,
                        const std::string& serial_hex) const;
  /// A fresh random positive serial (126 random bits), lowercase hex with no
  /// leading zeros, as `AgentCredential::serial_hex`.
  static std::string new_serial();

  /// The revocation list of this CA (docs/contract.md, Lifecycle): a PEM
  /// X.509 v2 CRL signed with the CA key (ECDSA with SHA-256), issuer the CA's
  /// subject, thisUpdate `now`, nextUpdate `now` + `next_update_after`, one
  /// entry per distinct serial of `revoked` (in ascending serial order; a
  /// serial given twice is listed once, with its earliest date), and the
  /// extensions TLS servers look for: the authority key identifier (the CA's
  /// subject key identifier, as in the certificates it issued) and the CRL
  /// number `now`, which grows with the clock as RFC 5280 asks. An empty
  /// `revoked` gives a valid list without entries. Throws
  /// `Error::certificates` on any OpenSSL failure, a serial that is not
  /// lowercase hex without leading zeros of at most 20 bytes, a negative
  /// `now` or a non-positive `next_update_after`.
  std::string revocation_list_pem(const std::vector<RevokedCertificate>& revoked, std::int64_t now,
                                  std::chrono::seconds next_update_after) const;

  /// The identity in `certificate_pem` when it is an agent certificate this
  /// CA issued (as `issue` makes them) and valid at `now`; nothing otherwise.
  /// Accepted is exactly one PEM "CERTIFICATE" block (optionally followed by
  /// whitespace, at most 64 KiB in all) holding one DER X.509 v3 certificate,
  /// no more bytes, whose signature (ECDSA with SHA-256) verifies with this
  /// CA's key and whose issuer and authority key identifier are this CA's;
  /// with a P-256 key, subject exactly O=clusteraccess proxy-agent and CN=a
  /// `k8s-uuid` cluster id, CA:FALSE, extended key usage clientAuth, no
  /// critical extension OpenSSL does not know, a positive serial, and
  /// notBefore <= `now` < notAfter. Revocation is not judged here: the
  /// caller compares the serial with the cluster's current one.
  /// Never throws for bad input, only `std::bad_alloc`.
  std::optional<AgentIdentity> verify_agent_certificate(std::string_view certificate_pem,
                                                        std::int64_t now) const;

  /// The CA certificate, PEM.
  const std::string& certificate_pem() const noexcept;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

}  // namespace clusteraccess
