#include "clusteraccess/registry.hpp"

#include <limits>

#include "access_info_service.hpp"
#include "access_keys.hpp"
#include "authenticator.hpp"
#include "ca_vault.hpp"
#include "certificate_authority.hpp"
#include "clock.hpp"
#include "cluster_api_service.hpp"
#include "cluster_catalogue.hpp"
#include "cluster_phase.hpp"
#include "clusteraccess/error.hpp"
#include "installation_settings.hpp"
#include "names.hpp"
#include "registration_rules.hpp"
#include "postgres.hpp"
#include "postgres_store.hpp"
#include "sqlite_store.hpp"
#include "token.hpp"

namespace clusteraccess {

namespace {

// The CA outlives many agent certificates: ten years.
constexpr std::chrono::seconds kCaValidity{std::chrono::hours(24 * 365 * 10)};
// A writer that waits longer than this for a lock is better told so.
constexpr std::chrono::milliseconds kMaxBusyTimeout{std::chrono::hours(1)};
// An agent that has not connected a week after its manifest was downloaded
// is not coming; a longer window only keeps an unused certificate valid.
constexpr std::chrono::seconds kMaxConnectionWindow{std::chrono::hours(24 * 7)};

// Bounds are checked here, at open, so that an absurd value (a validity of
// 1e17 seconds, past what a certificate can state) is a 400 naming the
// option now rather than a 500 on every download later.
RegistryOptions checked(RegistryOptions options) {
  const auto validity = options.agent_certificate_validity;
  if (validity < std::chrono::seconds(1) || validity > kCaValidity) {
    throw Error::bad_parameter("agent_certificate_validity",
                               "must be between 1 second and 3650 days (the CA's own validity)");
  }
  if (options.busy_timeout.count() < 0 || options.busy_timeout > kMaxBusyTimeout) {
    throw Error::bad_parameter("busy_timeout", "must be between 0 and 1 hour");
  }
  if (options.connection_window < std::chrono::seconds(1) ||
      options.connection_window > kMaxConnectionWindow) {
    throw Error::bad_parameter("connection_window", "must be between 1 second and 7 days");
  }
  return options;
}

constexpr const char* kAdmin = "admin";

// The master key's file: the one the options name, else `<path>.key`; an
// in-memory registry, which no one can reopen, gets an ephemeral key ("").
// A PostgreSQL registry has no file to put it next to, and every replica
// must open the CA with the same key: it must be named (docs/postgres.md).
std::string master_key_file_for(const std::string& path, const RegistryOptions& options) {
  if (!options.master_key_file.empty()) return options.master_key_file;
  if (path == ":memory:") return {};
  if (postgres::is_uri(path)) {
    throw Error::not_configured(
        "a PostgreSQL registry needs its master key file named (RegistryOptions::master_key_file, "
        "--master-key-file), the same file on every replica");
  }
  return path + ".key";
}

// The one place that picks the backend: a postgresql:// or postgres:// URI
// is a PostgreSQL database, anything else a SQLite file.
std::unique_ptr<Store> open_store(const std::string& location, const RegistryOptions& options) {
  if (postgres::is_uri(location)) return std::make_unique<PostgresStore>(location, options.busy_timeout);
  return std::make_unique<SqliteStore>(location, options.busy_timeout);
}

void require_principal(std::string_view principal) {
  if (!is_valid_principal_name(principal)) {
    throw Error::bad_parameter("principal",
                               "must be 1 to 64 characters of letters, digits and ._@- starting "
                               "with a letter or digit");
  }
}

void require_proxy(std::string_view host, int port) {
  if (!is_valid_host_name(host)) {
    throw Error::bad_parameter("host", "must be a DNS host name or a literal IP address");
  }
  if (!is_valid_port(port)) throw Error::bad_parameter("port", "must be between 1 and 65535");
}

}  // namespace

struct Registry::Impl {
  // The order of the members is the order of opening: options, then the
  // master key file (a bad one is refused before the registry file is
  // touched), then the store, then the CA.
  Impl(const std::string& registry_path, RegistryOptions registry_options)
      : path(registry_path),
        options(checked(std::move(registry_options))),
        vault(master_key_file_for(path, options)),
        store(open_store(path, options)),
        authority(vault.open(*store, [this] { return CertificateAuthority::create(now(), kCaValidity); })),
        keys(*store, vault.master_key()),
        authenticator(*store, keys, options),
        service(*store, authority, authenticator, options),
        api(authenticator) {}

  std::int64_t now() const { return unix_now(options); }
  std::int64_t window() const { return options.connection_window.count(); }
  Cluster judged(Cluster cluster) const {
    judge_phase(cluster, now(), window());
    return cluster;
  }
  ClusterChange change(const ClusterId& id, std::optional<std::string> principal) const {
    std::string actor = principal ? *principal : std::string(kAdmin);
    return ClusterChange{id, std::move(principal), std::move(actor), now(), window()};
  }
  // Activation of a cluster that exists (and, for the API form, is granted):
  // a CCE cluster has no agent to activate.
  void reactivate(const ClusterChange& change) {
    // Existence and grant are judged again inside the store's transaction;
    // a category never changes, so reading it first is safe. (The API form
    // reaches this only for a granted cluster, so it tells nothing new.)
    if (const auto cluster = store->cluster(change.cluster_id);
        cluster && cluster->category == ClusterCategory::kCce) {
      throw Error::bad_parameter("clusterid", "is a CCE cluster, which has no agent to activate");
    }
    if (store->reactivate(change) == ChangeOutcome::kNotFound) {
      if (change.principal) throw Error::cluster_forbidden();
      throw Error::not_found("cluster");
    }
  }

  std::string path;
  RegistryOptions options;
  CaVault vault;
  std::unique_ptr<Store> store;
  CertificateAuthority authority;
  AccessKeys keys;
  Authenticator authenticator;
  AccessInfoService service;
  ClusterApiService api;
};

Registry::Registry(const std::string& path, RegistryOptions options)
    : impl_(std::make_unique<Impl>(path, std::move(options))) {}

Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

const std::string& Registry::path() const noexcept { return impl_->path; }

void Registry::set_public_endpoint(std::string_view host, int port) {
  require_proxy(host, port);
  impl_->store->set_settings(
      public_endpoint_settings(ProxyEndpoint{std::string(host), static_cast<std::uint16_t>(port)}));
}

std::optional<ProxyEndpoint> Registry::public_endpoint() const {
  return clusteraccess::public_endpoint(impl_->store->settings());
}

void Registry::add_region(std::string_view name, std::string_view proxy_host, int proxy_port) {
  if (!is_valid_region_name(name)) {
    throw Error::bad_parameter("region",
                               "must be 1 to 63 characters of lowercase letters, digits and inner "
                               "hyphens");
  }
  require_proxy(proxy_host, proxy_port);
  impl_->store->put_region(Region{std::string(name),
                                  {std::string(proxy_host), static_cast<std::uint16_t>(proxy_port)}});
}

std::vector<Region> Registry::regions() const { return impl_->store->regions(); }

void Registry::set_agent_image(std::string_view image) {
  if (!is_valid_image_reference(image)) {
    throw Error::bad_parameter("image", "must be a container image reference");
  }
  impl_->store->set_settings(agent_image_settings(image));
}

std::string Registry::agent_image() const {
  return clusteraccess::agent_image(impl_->store->settings());
}

std::string Registry::ca_certificate_pem() const {
  return impl_->authority.certificate_pem();
}

ClusterId Registry::register_cluster(const ClusterSpec& spec) {
  if (!is_valid_cluster_name(spec.name)) {
    throw Error::bad_parameter("name",
                               "must be 4 to 128 characters of lowercase letters, digits and "
                               "hyphens, starting with a letter and not ending with a hyphen");
  }
  if (!is_valid_provider(spec.category, spec.provider)) {
    throw Error::bad_parameter("provider", spec.category == ClusterCategory::kAttached
                                               ? "must be one of eks, aks, gke, ack, tke, "
                                                 "openshift, privatek8s for an attached cluster"
                                               : "must be cce or turbo for a CCE cluster");
  }
  const ClusterId id = spec.id.value_or(ClusterId::generate());
  Cluster cluster{id, spec.name, spec.category, spec.provider, spec.network,
                  impl_->now(), std::nullopt, std::nullopt};
  cluster.type = spec.provider;
  cluster.cloud_provider = std::string(catalogue::legacy_cloud_provider(spec.provider));
  cluster.updated_at = cluster.created_at;
  impl_->store->insert_cluster(cluster);
  return id;
}

Cluster Registry::cluster(const ClusterId& id) const {
  auto cluster = impl_->store->cluster(id);
  if (!cluster) throw Error::not_found("cluster");
  return impl_->judged(std::move(*cluster));
}

std::vector<Cluster> Registry::clusters() const {
  auto clusters = impl_->store->clusters();
  for (auto& cluster : clusters) judge_phase(cluster, impl_->now(), impl_->window());
  return clusters;
}

std::string Registry::create_token(std::string_view principal, std::chrono::seconds ttl) {
  require_principal(principal);
  if (ttl.count() < 1) throw Error::bad_parameter("ttl", "must be at least one second");
  const std::int64_t now = impl_->now();
  if (ttl.count() > std::numeric_limits<std::int64_t>::max() - now) {
    throw Error::bad_parameter("ttl", "is too large");
  }
  std::string token = generate_token();
  impl_->store->insert_token(principal, hash_token(token), now, now + ttl.count());
  return token;
}

void Registry::revoke_token(std::string_view token) {
  if (!impl_->store->revoke_token(hash_token(token), impl_->now())) throw Error::not_found("token");
}

NewAccessKey Registry::create_access_key(std::string_view principal, std::chrono::seconds ttl) {
  require_principal(principal);
  if (ttl.count() < 1) throw Error::bad_parameter("ttl", "must be at least one second");
  const std::int64_t now = impl_->now();
  if (ttl.count() > std::numeric_limits<std::int64_t>::max() - now) {
    throw Error::bad_parameter("ttl", "is too large");
  }
  return impl_->keys.create(principal, now, now + ttl.count());
}

std::vector<AccessKeyInfo> Registry::access_keys() const { return impl_->store->access_keys(); }

void Registry::revoke_access_key(std::string_view access_key) {
  // Not the AK's form: no such key (and nothing to look up).
  if (!is_access_key_id(access_key) || !impl_->store->revoke_access_key(access_key, impl_->now())) {
    throw Error::not_found("access key");
  }
}

void Registry::grant(std::string_view principal, const ClusterId& id) {
  require_principal(principal);
  if (!impl_->store->grant(principal, id, impl_->now())) throw Error::not_found("cluster");
}

void Registry::revoke_grant(std::string_view principal, const ClusterId& id) {
  if (!impl_->store->revoke_grant(principal, id)) throw Error::not_found("grant");
}

AccessInfo Registry::access_info(const AccessRequest& request) {
  return impl_->service.handle(request);
}

std::variant<AccessInfo, Error> Registry::try_access_info(const AccessRequest& request) {
  return impl_->service.answer(request);
}

std::variant<AccessInfo, Error, FirstDownloadAdmitted> Registry::judge_access_info(
    const AccessRequest& request) {
  return impl_->service.judge(request);
}

std::vector<DownloadRecord> Registry::downloads() const { return impl_->store->downloads(); }

ClusterId Registry::register_cluster(const Credentials& credentials,
                                     const ClusterRegistration& registration) {
  const AdmittedCaller caller = impl_->api.authenticate(credentials);
  ValidRegistration valid = validate_registration(registration);
  Cluster& cluster = valid.cluster;
  cluster.id = valid.id.value_or(ClusterId::generate());
  cluster.created_at = impl_->now();
  cluster.updated_at = cluster.created_at;
  impl_->store->insert_granted_cluster(cluster, caller.principal);
  return cluster.id;
}

ClusterPage Registry::list_clusters(const Credentials& credentials, std::int64_t limit,
                                    std::int64_t offset) {
  const AdmittedCaller caller = impl_->api.authenticate(credentials);
  if (limit == -1) limit = kMaxPageSize;
  if (limit < 1 || limit > kMaxPageSize) {
    throw Error::bad_parameter("limit", "must be between 1 and 1000, or -1 for the largest page");
  }
  if (offset < 0) throw Error::bad_parameter("offset", "must be 0 or more");
  ClusterListing listing = impl_->store->granted_clusters(caller.principal, limit, offset);
  ClusterPage page{std::move(listing.clusters), listing.total};
  for (auto& cluster : page.items) judge_phase(cluster, impl_->now(), impl_->window());
  return page;
}

Cluster Registry::show_cluster(const Credentials& credentials, std::string_view cluster_id) {
  const AdmittedOnCluster caller = impl_->api.authorize(credentials, cluster_id);
  auto cluster = impl_->store->cluster(caller.cluster_id);
  // Deleted between the judgement and this read: as if it never existed.
  if (!cluster) throw Error::cluster_forbidden();
  return impl_->judged(std::move(*cluster));
}

void Registry::delete_cluster(const Credentials& credentials, std::string_view cluster_id) {
  const AdmittedOnCluster caller = impl_->api.authorize(credentials, cluster_id);
  if (impl_->store->delete_cluster(impl_->change(caller.cluster_id, caller.principal)) ==
      ChangeOutcome::kNotFound) {
    throw Error::cluster_forbidden();  // the grant or the cluster went away meanwhile
  }
}

void Registry::reactivate(const Credentials& credentials, std::string_view cluster_id) {
  const AdmittedOnCluster caller = impl_->api.authorize(credentials, cluster_id);
  impl_->reactivate(impl_->change(caller.cluster_id, caller.principal));
}

void Registry::reactivate(const ClusterId& id) { impl_->reactivate(impl_->change(id, std::nullopt)); }

void Registry::delete_cluster(const ClusterId& id) {
  if (impl_->store->delete_cluster(impl_->change(id, std::nullopt)) == ChangeOutcome::kNotFound) {
    throw Error::not_found("cluster");
  }
}

std::string Registry::agent_connected(std::string_view certificate_pem) {
  const std::int64_t now = impl_->now();
  const auto identity = impl_->authority.verify_agent_certificate(certificate_pem, now);
  if (!identity || !impl_->store->connect_agent(identity->cluster_id, identity->serial_hex, now,
                                                impl_->window())) {
    throw Error::agent_certificate_refused();
  }
  return identity->cluster_id.str();
}

std::string Registry::certificate_revocation_list() {
  const std::int64_t now = impl_->now();
  std::vector<RevokedCertificate> revoked;
  for (auto& entry : impl_->store->revocations(now, impl_->window())) {
    revoked.push_back(RevokedCertificate{std::move(entry.serial_hex), entry.revoked_at});
  }
  return impl_->authority.revocation_list_pem(revoked, now, kRevocationListLifetime);
}

std::vector<LifecycleEvent> Registry::events(const std::optional<ClusterId>& id) {
  return impl_->store->events(id, impl_->now(), impl_->window());
}

void Registry::backup(const std::string& destination) const {
  // A copy sealed under a key that lives only in this process could never
  // be opened: refuse it rather than write a useless file.
  if (master_key_file_for(impl_->path, impl_->options).empty()) {
    throw Error::not_configured(
        "an in-memory registry's master key lives only in this process; give it a master key file to back it up");
  }
  impl_->store->backup(destination);
}

}  // namespace clusteraccess
