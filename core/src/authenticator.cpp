#include "authenticator.hpp"

#include "clock.hpp"
#include "request_signature.hpp"

namespace clusteraccess {

namespace {

// Longer tokens cannot be ours; refuse them before hashing.
constexpr std::size_t kMaxTokenLength = 256;

Error refused(SignatureRefusal refusal, std::string_view access_key = {}) {
  std::string detail = request_signature::describe(refusal);
  if (!access_key.empty()) detail.append(" (access key ").append(access_key).append(")");
  return Error::unauthenticated(std::move(detail));
}

}  // namespace

std::variant<Authenticated, Error> Authenticator::authenticate(const std::optional<std::string>& token,
                                                               const std::optional<SignedRequest>& signature,
                                                               const std::optional<ClusterId>& cluster_id) const {
  if (token && !token->empty() && token->size() <= kMaxTokenLength) {
    const TokenHash hash = hash_token(*token);
    RequestState state = store_.request_state(hash, cluster_id);
    const auto& record = state.token;
    if (record && hashes_equal(record->hash, hash) && !record->revoked &&
        record->expires_at > unix_now(options_)) {
      return Authenticated{std::move(state.token->principal), hash, std::nullopt, std::move(state.access)};
    }
  }
  if (signature) return verify(*signature, cluster_id);
  return Error::unauthenticated();
}

std::variant<Authenticated, Error> Authenticator::verify(const SignedRequest& signature,
                                                         const std::optional<ClusterId>& cluster_id) const {
  const std::int64_t now = unix_now(options_);
  // Form and date first: no storage read for a request that cannot pass.
  auto prepared = request_signature::prepare(signature, now);
  if (const auto* refusal = std::get_if<SignatureRefusal>(&prepared)) return refused(*refusal);
  const auto& pending = std::get<request_signature::PendingSignature>(prepared);

  SignedRequestState state = store_.signed_request_state(pending.access_key, cluster_id);
  if (!state.key) return refused(SignatureRefusal::kUnknownAccessKey, pending.access_key);
  if (state.key->revoked) return refused(SignatureRefusal::kRevokedAccessKey, pending.access_key);
  if (state.key->expires_at <= now) return refused(SignatureRefusal::kExpiredAccessKey, pending.access_key);
  const auto secret = keys_.secret(pending.access_key, *state.key);
  if (!request_signature::signature_matches(pending, secret->view())) {
    return refused(SignatureRefusal::kSignatureMismatch, pending.access_key);
  }
  return Authenticated{std::move(state.key->principal), TokenHash{}, std::string(pending.access_key),
                       std::move(state.access)};
}

}  // namespace clusteraccess
