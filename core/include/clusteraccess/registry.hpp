// Registry: the state of one installation and the rules of the access-info API.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "clusteraccess/access_info.hpp"
#include "clusteraccess/access_key.hpp"
#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/cluster_registration.hpp"
#include "clusteraccess/credentials.hpp"
#include "clusteraccess/download_record.hpp"
#include "clusteraccess/error.hpp"
#include "clusteraccess/installation.hpp"
#include "clusteraccess/lifecycle_event.hpp"
#include "clusteraccess/registry_options.hpp"

namespace clusteraccess {

/// The state of one installation, kept in one SQLite file (WAL mode), and the
/// rules of GET /v1/clusters/{clusterid}/accessinfo.
///
/// A `path` that is a `postgresql://` or `postgres://` URI (libpq's
/// connection URIs) keeps the state in that PostgreSQL database instead,
/// shared by every process that opens it, with the same rules and guarantees
/// (docs/postgres.md); its master key file must then be named
/// (`RegistryOptions::master_key_file`), else the open fails with 500
/// `Error::not_configured`. What follows about files is SQLite's.
///
/// Opening a registry creates the file (mode 0600) with its schema, or checks
/// that an existing file is a registry of this schema version: a newer
/// version, a damaged file or another program's database is refused, and a
/// registry of an older version is upgraded. The registry file (and its
/// -wal and -shm files when they exist) is used only when it is a regular
/// file owned by this process's user with a single link, and never through
/// a symbolic link: anything else is refused (500) before a byte is written.
/// Several `Registry` objects, threads and processes may share one file:
/// every method is safe to call concurrently, and the access information of
/// a cluster is handed out exactly once.
///
/// Secrets at rest (docs/contract.md): the certificate authority, made on
/// first use, is stored with its private key sealed (AES-256-GCM) under the
/// master key, which lives in its own file (`RegistryOptions::master_key_file`,
/// by default `<path>.key`), never in the registry. Opening follows these
/// rules:
///  - a master key file that exists must be a regular file of exactly 32
///    bytes, mode 0600 (no group or other access), owned by this process's
///    user, with one link, not a symbolic link; else the open fails (500)
///    before the registry is touched;
///  - a new registry (no CA yet) with no key file: the key file is created
///    (0600, published atomically), then the CA is made and stored sealed.
///    Processes opening one new registry at once end with one key file and
///    one CA that all of them open;
///  - a registry holding a sealed CA and no key file: 500
///    `UCS.01000009` ("master key file does not exist"), nothing changed;
///  - a registry holding a sealed CA that the key does not open (another
///    installation's key, a damaged file): 500 `UCS.01000009` ("the master key
///    does not open this registry's secrets"), nothing changed;
///  - a registry written before keys were sealed (schema version 1, the CA
///    key in the clear): the key file is created if missing, the CA key is
///    sealed in place, and no clear copy is left in the file's free pages or
///    its WAL.
///
/// Every method throws `Error` on failure.
class Registry {
 public:
  explicit Registry(const std::string& path, RegistryOptions options = {});
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// The file (or database URI) this registry lives in.
  const std::string& path() const noexcept;

  // --- installation settings -------------------------------------------

  /// Sets the proxy server that public-network agents connect to.
  void set_public_endpoint(std::string_view host, int port);
  /// The proxy server for public-network agents, if set.
  std::optional<ProxyEndpoint> public_endpoint() const;
  /// Adds a region (or updates its proxy server). Region names are 1 to 63
  /// characters of lowercase letters, digits and single inner `-`.
  void add_region(std::string_view name, std::string_view proxy_host, int proxy_port);
  /// The known regions, by name.
  std::vector<Region> regions() const;
  /// Sets the container image of the proxy agent (a registry/repository:tag
  /// or @sha256 digest reference).
  void set_agent_image(std::string_view image);
  /// The container image of the proxy agent.
  std::string agent_image() const;
  /// The certificate authority's certificate (PEM). Its key never leaves the
  /// registry.
  std::string ca_certificate_pem() const;

  // --- clusters, principals, grants ---------------------------------------

  /// Registers a cluster and returns its id. Throws 400 for a bad spec and
  /// 409 when the name or id is taken, or the id was a deleted cluster's.
  /// The spec's provider (the original vocabulary) becomes the cluster's
  /// type, and its cloud provider the one the catalogue ties to it (eks ->
  /// aws, ...).
  ClusterId register_cluster(const ClusterSpec& spec);
  /// The cluster with `id`, its phase judged now; throws 404 when there is none.
  Cluster cluster(const ClusterId& id) const;
  /// All clusters, oldest first, their phases judged now.
  std::vector<Cluster> clusters() const;

  /// Creates a token for `principal` (created on first use) that expires
  /// after `ttl` (at least one second). The token is returned once: only a
  /// hash of it is stored.
  std::string create_token(std::string_view principal, std::chrono::seconds ttl);
  /// Revokes `token`; throws 404 when no such token exists.
  void revoke_token(std::string_view token);
  /// Creates an access key for `principal` (created on first use) that
  /// expires after `ttl` (at least one second): an AK (20 characters A-Z0-9)
  /// and an SK (40 characters A-Za-z0-9), returned once. The SK is stored
  /// sealed under the master key (AES-256-GCM, its row's identity as
  /// associated data) and never returned again, logged or put in an error.
  /// A request signed with it (`SignedRequest`) names `principal` as a token
  /// of it would; grants stay per principal.
  NewAccessKey create_access_key(std::string_view principal, std::chrono::seconds ttl);
  /// Every access key, oldest first: AK, principal, times, revocation --
  /// never the SK.
  std::vector<AccessKeyInfo> access_keys() const;
  /// Revokes access key `access_key` (its AK); throws 404 when there is none.
  /// Revoking twice keeps the first time.
  void revoke_access_key(std::string_view access_key);
  /// Allows `principal` (created on first use) to query cluster `id`;
  /// granting twice is harmless. Throws 404 when the cluster is unknown.
  void grant(std::string_view principal, const ClusterId& id);
  /// Withdraws a grant; throws 404 when there was none.
  void revoke_grant(std::string_view principal, const ClusterId& id);

  // --- the API --------------------------------------------------------------

  /// GET /v1/clusters/{clusterid}/accessinfo. Judges the request by the rules
  /// in order (token or signature 403 -- a live `request.token` is enough,
  /// otherwise `request.signature` decides, see `Credentials` -- cluster id 400, existence and permission 403,
  /// category 400, network parameters 400); the first call that passes them
  /// issues the agent certificate and key and, atomically with returning
  /// them, records the download. Every later call returns {"Downloaded"}.
  /// Storage and crypto failures throw 500 and record nothing, as does a
  /// first download of a public-network cluster before
  /// `set_public_endpoint` (500 `UCS.01000009`, naming the missing setting).
  /// A first download whose `request.delivery` guard is abandoned before
  /// the commit throws 499 `Error::request_abandoned()` and records nothing
  /// (see `DeliveryGuard`).
  AccessInfo access_info(const AccessRequest& request);

  /// `access_info` without the exception: the access information, or the
  /// `Error` that rejects the request (400, 403) or stopped it (500). Only
  /// std::bad_alloc is thrown. Meant for callers that answer errors as often
  /// as successes -- an HTTP front end, the Python binding -- since an
  /// exception is a large part of the cost of answering a rejected request.
  std::variant<AccessInfo, Error> try_access_info(const AccessRequest& request);

  /// The judgement of `access_info` without the issuing, for a front end
  /// that must not let the time of its answer depend on what the caller may
  /// not know (docs/contract.md, Serving safely). Judges rules 1 to 5 with
  /// the same single storage read and returns:
  ///  - the `Error` of the first rule broken, or a storage failure (500);
  ///  - {"Downloaded"} (an `AccessInfo`) for a cluster downloaded before;
  ///  - `FirstDownloadAdmitted` for a first download: a live token with a
  ///    grant on an attached cluster that is not downloaded, with fitting
  ///    network parameters. Nothing is issued or recorded.
  /// Every answer but the last is the one `access_info` would give, so a
  /// front end sends it as it is, inline; only an admitted first download
  /// is handed to `access_info`/`try_access_info` (e.g. on a worker
  /// thread), which judges everything again and may still answer otherwise
  /// (a racing caller won, the grant was revoked meanwhile). All 403s run
  /// the same code, whether the cluster is unknown, not granted or
  /// downloaded. Makes no key and throws nothing but std::bad_alloc.
  std::variant<AccessInfo, Error, FirstDownloadAdmitted> judge_access_info(const AccessRequest& request);

  /// The audit records of all downloads, oldest first.
  std::vector<DownloadRecord> downloads() const;

  // --- the cluster API (docs/contract.md, Cluster API) ----------------------
  //
  // Each call judges its caller first, as accessinfo's rules 1-3: the
  // credentials (a token, or a signed request) must name a live principal
  // (else 403 UCS.01000004, with `Error::log_detail` saying which check of a
  // signature failed); a
  // cluster id must be a k8s-uuid (else 400 UCS.01000011); the cluster must
  // exist and the principal hold a grant on it (else the one 403 body of
  // `Error::cluster_forbidden`). Storage failures are 500. A refused call
  // changes nothing.

  /// The largest page `list_clusters` returns.
  static constexpr std::int64_t kMaxPageSize = 1000;

  /// POST /v1/clusters: judges every field of `registration` (400 naming its
  /// JSON path, nothing stored), registers the cluster and grants it to the
  /// caller, in one transaction. 409 when the name or metadata.uid is taken
  /// or was a deleted cluster's id.
  ClusterId register_cluster(const Credentials& credentials, const ClusterRegistration& registration);
  /// GET /v1/clusters: the clusters the caller holds a grant on, ordered by
  /// id, `limit` of them from `offset` on, and their total. `limit` is 1 to
  /// `kMaxPageSize`, or -1 (the SDK's default) for the largest page; `offset`
  /// is 0 or more: else 400 naming it. The work follows the caller's grants,
  /// not the registry's size.
  ClusterPage list_clusters(const Credentials& credentials, std::int64_t limit = -1,
                            std::int64_t offset = 0);
  /// GET /v1/clusters/{clusterid}.
  Cluster show_cluster(const Credentials& credentials, std::string_view cluster_id);
  /// DELETE /v1/clusters/{clusterid}: see `delete_cluster(const ClusterId&)`.
  void delete_cluster(const Credentials& credentials, std::string_view cluster_id);
  /// PUT /v1/clusters/{clusterid}/activation: see `reactivate(const ClusterId&)`.
  void reactivate(const Credentials& credentials, std::string_view cluster_id);

  // --- the lifecycle (docs/contract.md, Lifecycle) --------------------------

  /// Activation, by an administrator ("admin" in the audit). Allowed in every
  /// phase: revokes the current agent certificate if there is one (recorded
  /// with the time and the reason), returns the cluster to Pending in a new
  /// generation, whose access information is downloaded again exactly once,
  /// with a new key and serial. A download admitted before the activation
  /// and committing after it commits nothing for the old generation (the
  /// commit is conditional on the generation) and is judged again in the
  /// new one. 404 for an unknown cluster; 400 for a CCE cluster, which has
  /// no agent.
  void reactivate(const ClusterId& id);
  /// Deletion, by an administrator: revokes the current certificate, removes
  /// the cluster, its labels, annotations and grants, and keeps its id, which
  /// is never registered again (409). Its download records and events stay.
  /// 404 for an unknown cluster.
  void delete_cluster(const ClusterId& id);
  /// Called by the proxy server after its TLS handshake with an agent:
  /// accepts `certificate_pem` only if this installation's CA signed it, it
  /// is an agent certificate valid now, it names a registered cluster, it is
  /// that cluster's current certificate, it is not revoked, and the cluster
  /// is Initializing within its connection window or already Available. The
  /// cluster is then Available; returns its id. Anything else: 403
  /// `Error::agent_certificate_refused`, nothing changed.
  std::string agent_connected(std::string_view certificate_pem);
  /// How long a revocation list is good for (its nextUpdate after thisUpdate).
  static constexpr std::chrono::seconds kRevocationListLifetime{std::chrono::hours(1)};
  /// A PEM X.509 CRL signed by the CA, listing every revoked serial (by
  /// activation, deletion, or a failed window, revoked since the window's
  /// end), thisUpdate now, nextUpdate `kRevocationListLifetime` later.
  std::string certificate_revocation_list();
  /// The audit events -- download, activation, connection, failure,
  /// deletion -- of cluster `id`, or of all clusters, by time. A failure is
  /// recorded when it is first observed here, once per generation, with the
  /// time its window ended.
  std::vector<LifecycleEvent> events(const std::optional<ClusterId>& id = std::nullopt);

  // --- operations -------------------------------------------------------------

  /// Writes a consistent online copy of the registry to a new file at
  /// `destination` (mode 0600; an existing file is refused) while other
  /// callers go on. The master key file is not part of it: back it up
  /// separately and keep it apart from the copy (open the copy with
  /// `RegistryOptions::master_key_file` naming it, or put it next to the copy
  /// as `<copy>.key`). An in-memory registry with an ephemeral master key is
  /// refused (500 `UCS.01000009`): its copy could never be opened. Restoring an older copy
  /// forgets the downloads made since, so their clusters could be downloaded
  /// again; see the README, "State and backups".
  void backup(const std::string& destination) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clusteraccess
