// Authenticator: rule 1 (docs/contract.md, Rules and AK/SK), the one place
// that judges a caller's credentials -- a token, a signed request, or both --
// for accessinfo and the cluster API alike.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "access_keys.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/error.hpp"
#include "clusteraccess/registry_options.hpp"
#include "clusteraccess/signed_request.hpp"
#include "store.hpp"
#include "token.hpp"

namespace clusteraccess {

/// A caller that passed rule 1, with what the same storage read told of the
/// cluster it named.
struct Authenticated {
  std::string principal;
  /// The token's hash when the token admitted the caller (a download's
  /// commit requires it still live); zero otherwise.
  TokenHash token_hash{};
  /// The AK when a signature admitted the caller (the commit requires it
  /// still live instead).
  std::optional<std::string> access_key;
  /// As `RequestState::access`: the named cluster through the principal's grant.
  std::optional<ClusterAccess> access;
};

class Authenticator {
 public:
  /// `store`, `keys` and `options` must outlive this.
  Authenticator(Store& store, const AccessKeys& keys, const RegistryOptions& options) noexcept
      : store_(store), keys_(keys), options_(options) {}

  /// Rule 1, and the grant on `cluster_id` (when given) from the same read:
  ///  - a live token admits, whatever the signature;
  ///  - else a signature (when given) admits if it verifies with a live
  ///    (not expired, not revoked) access key;
  ///  - else `Error::unauthenticated()`, one body for every case; a refused
  ///    signature sets its `log_detail` (which check failed, and the AK when
  ///    one was parsed -- never the signature).
  /// Storage failures, and a sealed SK the master key does not open, are
  /// thrown (500).
  std::variant<Authenticated, Error> authenticate(const std::optional<std::string>& token,
                                                  const std::optional<SignedRequest>& signature,
                                                  const std::optional<ClusterId>& cluster_id) const;

 private:
  std::variant<Authenticated, Error> verify(const SignedRequest& signature,
                                            const std::optional<ClusterId>& cluster_id) const;

  Store& store_;
  const AccessKeys& keys_;
  const RegistryOptions& options_;
};

}  // namespace clusteraccess
