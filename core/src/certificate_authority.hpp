// CertificateAuthority: the installation's CA, and the agent credentials it issues.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

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

  /// The CA certificate, PEM.
  const std::string& certificate_pem() const noexcept;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

}  // namespace clusteraccess
