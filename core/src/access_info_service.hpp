// AccessInfoService: the rules of GET /v1/clusters/{clusterid}/accessinfo.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "authenticator.hpp"
#include "certificate_authority.hpp"
#include "clusteraccess/access_info.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/error.hpp"
#include "clusteraccess/installation.hpp"
#include "clusteraccess/registry_options.hpp"
#include "manifest.hpp"
#include "store.hpp"

namespace clusteraccess {

/// Judges requests by the rules of docs/contract.md, in order, and issues the
/// access information on the first download.
///
/// The key is made with no lock held; only the final conditional update takes
/// the write lock, so a caller that loses a race throws its key away unseen
/// (its rendered documents wiped) and answers {"Downloaded"}. A request whose
/// `DeliveryGuard` is abandoned makes no key, or commits nothing, and
/// answers `Error::request_abandoned()`.
class AccessInfoService {
 public:
  /// `store`, `authority`, `authenticator` and `options` must outlive the service.
  AccessInfoService(Store& store, const CertificateAuthority& authority,
                    const Authenticator& authenticator, const RegistryOptions& options);

  /// Answers `request`: the access information, or the Error that rejects
  /// it (400/403) or stopped it (500). A rejection is returned, not thrown:
  /// an exception is a large part of the cost of a rejected request.
  std::variant<AccessInfo, Error> answer(const AccessRequest& request) const;
  /// `answer`, with the Error thrown.
  AccessInfo handle(const AccessRequest& request) const;
  /// Rules 1 to 5 with no issuing: every answer `answer` would give without
  /// making a key (a rejection, {"Downloaded"}), or FirstDownloadAdmitted.
  /// Storage failures are returned too.
  std::variant<AccessInfo, Error, FirstDownloadAdmitted> judge(const AccessRequest& request) const;

 private:
  // A request that passed rules 1 to 5.
  struct Admitted {
    ClusterId cluster_id;
    std::string principal;
    TokenHash token_hash;
    std::optional<std::string> access_key;  // set when a signature admitted the caller
    AccessNetwork network;
    bool downloaded;
    std::int64_t generation;
    std::optional<PrivateAccess> private_access;
    std::optional<ProxyEndpoint> region_proxy;
  };

  // Rules 1 to 5: the request admitted, or the Error of the first rule it
  // breaks. Storage failures are thrown.
  std::variant<Admitted, Error> admit(const AccessRequest& request) const;
  // Rule 6. Throws on storage and crypto failures, Error::not_configured()
  // when the settings the commit reads name no proxy (found once the key is
  // made; nothing recorded), and Error::request_abandoned() when the
  // delivery guard says so. A commit
  // lost to an activation (the cluster moved to a new generation, not
  // downloaded) is tried once more, in the new generation, when
  // `may_retry`.
  AccessInfo issue(const AccessRequest& request, const Admitted& admitted, bool may_retry = true) const;

  Store& store_;
  const CertificateAuthority& authority_;
  const Authenticator& authenticator_;
  const RegistryOptions& options_;
};

}  // namespace clusteraccess
