#include "access_info_service.hpp"

#include "clock.hpp"
#include "clusteraccess/error.hpp"
#include "fault_injection.hpp"
#include "installation_settings.hpp"
#include "ip_address.hpp"
#include "names.hpp"
#include "secret_documents.hpp"

namespace clusteraccess {

namespace {

// Empty counts as "not given", as an HTTP query parameter without a value.
bool given(const std::optional<std::string>& value) { return value && !value->empty(); }

AccessInfo downloaded(std::string principal) {
  return AccessInfo({kDownloaded}, std::nullopt, std::move(principal));
}

// docs/contract.md, Serving safely: a first download whose client is gone
// before the commit records nothing.
bool abandoned(const AccessRequest& request) noexcept {
  return request.delivery && request.delivery->abandoned();
}

}  // namespace

AccessInfoService::AccessInfoService(Store& store, const CertificateAuthority& authority,
                                     const Authenticator& authenticator, const RegistryOptions& options)
    : store_(store), authority_(authority), authenticator_(authenticator), options_(options) {}

std::variant<AccessInfo, Error> AccessInfoService::answer(const AccessRequest& request) const {
  try {
    auto judgement = admit(request);
    if (auto* error = std::get_if<Error>(&judgement)) return std::move(*error);
    Admitted& admitted = std::get<Admitted>(judgement);
    if (admitted.downloaded) return downloaded(std::move(admitted.principal));
    return issue(request, admitted);
  } catch (const Error& error) {
    return error;
  }
}

std::variant<AccessInfo, Error, FirstDownloadAdmitted> AccessInfoService::judge(
    const AccessRequest& request) const {
  // The same judgement as `answer`, up to the point where it would issue:
  // a front end answers these inline and hands only admitted first
  // downloads to `answer`, which judges everything again.
  try {
    auto judgement = admit(request);
    if (auto* error = std::get_if<Error>(&judgement)) return std::move(*error);
    Admitted& admitted = std::get<Admitted>(judgement);
    if (admitted.downloaded) return downloaded(std::move(admitted.principal));
    return FirstDownloadAdmitted{std::move(admitted.principal)};
  } catch (const Error& error) {
    return error;
  }
}

AccessInfo AccessInfoService::handle(const AccessRequest& request) const {
  auto result = answer(request);
  if (auto* error = std::get_if<Error>(&result)) throw std::move(*error);
  return std::get<AccessInfo>(std::move(result));
}

std::variant<AccessInfoService::Admitted, Error> AccessInfoService::admit(
    const AccessRequest& request) const {
  // 1. A live token, or a valid signature (authenticator.hpp). Rules 1 and 3
  // are answered by one read (rule 2 needs none, so the id is parsed first
  // and judged in its turn).
  const std::optional<ClusterId> cluster_id = ClusterId::try_parse(request.cluster_id);
  auto authenticated = authenticator_.authenticate(request.token, request.signature, cluster_id);
  if (auto* error = std::get_if<Error>(&authenticated)) return std::move(*error);
  Authenticated& caller = std::get<Authenticated>(authenticated);

  // 2. A Kubernetes UUID.
  if (!cluster_id) return Error::bad_cluster_id();

  // 3. An existing cluster this principal may query: one answer for both.
  const auto& access = caller.access;
  if (!access) return Error::cluster_forbidden();

  // 4. A third-party cluster.
  if (access->category != ClusterCategory::kAttached) return Error::category_not_supported();

  Admitted admitted{*cluster_id,          std::move(caller.principal), caller.token_hash,
                    std::move(caller.access_key), access->network,     access->downloaded,
                    access->generation,   std::nullopt,                std::nullopt};

  // 5. The network parameters fit the cluster's access network.
  if (access->network == AccessNetwork::kPublic) {
    if (given(request.vpcendpoint)) {
      return Error::bad_parameter("vpcendpoint",
                                  "must not be given for a cluster accessed over the public network");
    }
    if (given(request.region)) {
      return Error::bad_parameter("region",
                                  "must not be given for a cluster accessed over the public network");
    }
    return admitted;
  }
  if (!given(request.vpcendpoint)) {
    return Error::bad_parameter("vpcendpoint",
                                "is required for a cluster accessed over the private network");
  }
  auto vpcendpoint = canonical_unicast_ip(*request.vpcendpoint);
  if (!vpcendpoint) {
    return Error::bad_parameter("vpcendpoint", "must be a literal unicast IPv4 or IPv6 address");
  }
  if (!given(request.region)) {
    return Error::bad_parameter("region", "is required for a cluster accessed over the private network");
  }
  std::optional<Region> region;
  if (is_valid_region_name(*request.region)) region = store_.region(*request.region);
  if (!region) return Error::bad_parameter("region", "is not a region this installation serves");

  admitted.private_access = PrivateAccess{region->name, std::move(*vpcendpoint)};
  admitted.region_proxy = std::move(region->proxy);
  return admitted;
}

AccessInfo AccessInfoService::issue(const AccessRequest& request, const Admitted& admitted,
                                    bool may_retry) const {
  // Nobody pays for a key whose answer nobody will read.
  if (abandoned(request)) throw Error::request_abandoned();
  const std::int64_t issued_at = unix_now(options_);
  {
    // The serial is chosen first and the key made by the store's commit
    // (DownloadCommit::make_key), which can make it while the server runs
    // the commit's statements; the key is wiped with this scope unless it is
    // handed out.
    const std::string serial = CertificateAuthority::new_serial();
    std::optional<AgentCredential> credential;
    const auto make_key = [&] {
      credential = authority_.issue(admitted.cluster_id, issued_at, options_.agent_certificate_validity, serial);
      fault::reached(fault::Point::kAfterKeyGeneration);
    };
    // Rendered by the store's commit, from the settings it reads in its own
    // transaction (no round trip of their own), before it commits: an
    // installation with no public endpoint finds out only once the key is
    // made, and nothing is recorded (the key is wiped with this scope).
    SecretDocuments documents;
    const auto render = [&](const Settings& settings) {
      if (!credential) throw Error::certificates("the store rendered a download whose key it did not make");
      auto proxy = admitted.region_proxy ? admitted.region_proxy : public_endpoint(settings);
      if (!proxy) throw Error::not_configured(
            "no public proxy endpoint is set (clusteraccess init --public-endpoint HOST:PORT, or Registry::set_public_endpoint)");
      documents = render_manifest(ManifestInput{admitted.cluster_id, authority_.certificate_pem(),
                                                credential->certificate_pem, credential->private_key_pem, *proxy,
                                                agent_image(settings), admitted.private_access});
    };

    DownloadCommit commit{admitted.cluster_id,
                          admitted.principal,
                          admitted.token_hash,
                          issued_at,
                          serial,
                          admitted.network,
                          std::nullopt,
                          std::nullopt,
                          admitted.generation,
                          admitted.access_key,
                          request.delivery.get(),
                          render,
                          make_key};
    if (admitted.private_access) {
      commit.region = admitted.private_access->region;
      commit.vpcendpoint = admitted.private_access->vpcendpoint;
    }
    fault::reached(fault::Point::kBeforeCommit);
    // The client's departure can still save the download inside
    // record_download, which reads the guard last, the write lock held and
    // the documents rendered, before it commits; the key and the documents
    // are wiped as they go out of scope.
    if (store_.record_download(commit)) {
      fault::reached(fault::Point::kAfterCommit);
      return AccessInfo(documents.release(), serial, admitted.principal);
    }
  }  // lost: the key and the documents are wiped here, before judging again

  // Nothing was recorded: someone else downloaded first, or the grant or
  // token went away meanwhile. Judge again to give the right answer; the key
  // made above was wiped without having left the library.
  auto again = admit(request);
  if (auto* error = std::get_if<Error>(&again)) throw std::move(*error);
  Admitted& now_admitted = std::get<Admitted>(again);
  if (now_admitted.downloaded) return downloaded(std::move(now_admitted.principal));
  // An activation committed between this caller's judgement and its commit:
  // the key made for the old generation was wiped unseen; the new
  // generation is not downloaded, so this caller may be its first download.
  if (may_retry && now_admitted.generation != admitted.generation) {
    return issue(request, now_admitted, false);
  }
  throw Error::storage("the download could not be recorded");
}

}  // namespace clusteraccess
