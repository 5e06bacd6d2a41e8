#include "cluster_api_service.hpp"

#include "clusteraccess/error.hpp"

namespace clusteraccess {

namespace {

Authenticated admitted_or_thrown(std::variant<Authenticated, Error> judged) {
  if (auto* error = std::get_if<Error>(&judged)) throw std::move(*error);
  return std::get<Authenticated>(std::move(judged));
}

}  // namespace

AdmittedCaller ClusterApiService::authenticate(const Credentials& credentials) const {
  // The same judgement as authorize, with no cluster to look up.
  Authenticated caller =
      admitted_or_thrown(authenticator_.authenticate(credentials.token, credentials.signature, std::nullopt));
  return AdmittedCaller{std::move(caller.principal)};
}

AdmittedOnCluster ClusterApiService::authorize(const Credentials& credentials,
                                               std::string_view cluster_id) const {
  const std::optional<ClusterId> id = ClusterId::try_parse(cluster_id);
  Authenticated caller =
      admitted_or_thrown(authenticator_.authenticate(credentials.token, credentials.signature, id));
  if (!id) throw Error::bad_cluster_id();
  if (!caller.access) throw Error::cluster_forbidden();
  return AdmittedOnCluster{std::move(caller.principal), *id};
}

}  // namespace clusteraccess
