// LifecycleCrypto: the two CA operations the lifecycle needs -- a revocation
// list and the check of an agent's certificate.
//
// SHIM, to be reconciled when the "crypto" branch merges: that branch adds
// these very signatures to CertificateAuthority (certificate_authority.hpp),
// which this branch must not edit. Until then they live here, a real
// implementation on the same CA material; the registry calls them through
// `Registry::Impl::crypto`, so the merge replaces that member with the
// CertificateAuthority and deletes this file.
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

namespace clusteraccess {

/// A revoked agent certificate: its serial (lowercase hex, as issued) and
/// when it was revoked (Unix seconds).
struct RevokedCertificate {
  std::string serial_hex;
  std::int64_t revoked_at;
};

/// Who an agent certificate names.
struct AgentIdentity {
  ClusterId cluster_id;
  std::string serial_hex;  ///< lowercase hex, no leading zeros
  std::int64_t not_after;  ///< Unix seconds
};

class LifecycleCrypto {
 public:
  /// Loads the CA of `material`; throws `Error::certificates` when it does not parse.
  explicit LifecycleCrypto(const CaMaterial& material);
  ~LifecycleCrypto();
  LifecycleCrypto(LifecycleCrypto&&) noexcept;
  LifecycleCrypto& operator=(LifecycleCrypto&&) noexcept;

  /// A PEM X.509 v2 CRL signed by the CA (ECDSA SHA-256): issuer the CA's
  /// subject, thisUpdate `now`, nextUpdate `now` + `next_update_after`, one
  /// entry per `revoked`. Throws `Error::certificates` on an OpenSSL failure.
  std::string revocation_list_pem(const std::vector<RevokedCertificate>& revoked, std::int64_t now,
                                  std::chrono::seconds next_update_after) const;

  /// The identity of `certificate_pem` when it is one PEM certificate signed
  /// by this CA, an agent certificate (CA:FALSE, O=clusteraccess
  /// proxy-agent, CN a cluster id) and valid at `now`; nothing otherwise
  /// (never throws for bad input).
  std::optional<AgentIdentity> verify_agent_certificate(std::string_view certificate_pem,
                                                        std::int64_t now) const;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

}  // namespace clusteraccess
