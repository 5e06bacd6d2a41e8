#include "cluster_api_service.hpp"

#include "clock.hpp"
#include "clusteraccess/error.hpp"
#include "token.hpp"

namespace clusteraccess {

namespace {

// As accessinfo (access_info_service.cpp): longer tokens cannot be ours.
constexpr std::size_t kMaxTokenLength = 256;

}  // namespace

ClusterApiService::ClusterApiService(Store& store, const RegistryOptions& options)
    : store_(store), options_(options) {}

AdmittedCaller ClusterApiService::authenticate(const Credentials& credentials) const {
  // The same judgement as authorize, with no cluster to look up.
  const auto& token = credentials.token;
  if (!token || token->empty() || token->size() > kMaxTokenLength) throw Error::unauthenticated();
  const TokenHash hash = hash_token(*token);
  const RequestState state = store_.request_state(hash, std::nullopt);
  if (!state.token || !hashes_equal(state.token->hash, hash) || state.token->revoked ||
      state.token->expires_at <= unix_now(options_)) {
    throw Error::unauthenticated();
  }
  return AdmittedCaller{state.token->principal};
}

AdmittedOnCluster ClusterApiService::authorize(const Credentials& credentials,
                                               std::string_view cluster_id) const {
  const auto& token = credentials.token;
  if (!token || token->empty() || token->size() > kMaxTokenLength) throw Error::unauthenticated();
  const TokenHash hash = hash_token(*token);
  const std::optional<ClusterId> id = ClusterId::try_parse(cluster_id);
  const RequestState state = store_.request_state(hash, id);
  if (!state.token || !hashes_equal(state.token->hash, hash) || state.token->revoked ||
      state.token->expires_at <= unix_now(options_)) {
    throw Error::unauthenticated();
  }
  if (!id) throw Error::bad_cluster_id();
  if (!state.access) throw Error::cluster_forbidden();
  return AdmittedOnCluster{state.token->principal, *id};
}

}  // namespace clusteraccess
