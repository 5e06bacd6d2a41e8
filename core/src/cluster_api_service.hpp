// ClusterApiService: who may call the cluster API on which cluster (rules 1-3
// of docs/contract.md, shared with accessinfo).
#pragma once

#include <string>
#include <string_view>

#include "authenticator.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/credentials.hpp"

namespace clusteraccess {

/// A caller admitted by rules 1-3.
struct AdmittedCaller {
  std::string principal;
};

/// A caller admitted on one cluster.
struct AdmittedOnCluster {
  std::string principal;
  ClusterId cluster_id;
};

class ClusterApiService {
 public:
  /// `authenticator` must outlive the service.
  explicit ClusterApiService(const Authenticator& authenticator) noexcept : authenticator_(authenticator) {}

  /// Rule 1: the credentials (a token or a signature, as accessinfo judges
  /// them) name a live principal; else 403 `UCS.01000004`.
  AdmittedCaller authenticate(const Credentials& credentials) const;
  /// Rules 1-3, in order: a live principal (403), a k8s-uuid (400), a
  /// cluster that exists and that the principal holds a grant on (the one
  /// 403 body of `Error::cluster_forbidden`), from the one read accessinfo
  /// uses, so the answer's work is the same whether the cluster exists.
  AdmittedOnCluster authorize(const Credentials& credentials, std::string_view cluster_id) const;

 private:
  const Authenticator& authenticator_;
};

}  // namespace clusteraccess
