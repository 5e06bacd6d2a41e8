// Registry: the state of one installation and the rules of the access-info API.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "clusteraccess/access_info.hpp"
#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/error.hpp"

namespace clusteraccess {

/// The proxy agent image used until `Registry::set_agent_image` is called.
inline constexpr const char* kDefaultAgentImage = "swr.example.com/clusteraccess/proxy-agent:1.0.0";

/// Tuning of a `Registry`. The defaults suit a service.
struct RegistryOptions {
  /// How long a writer waits for another connection's lock before the call
  /// fails with a 500 `Error`.
  std::chrono::milliseconds busy_timeout{5000};
  /// Validity of each agent certificate, from the moment it is issued.
  std::chrono::seconds agent_certificate_validity{std::chrono::hours(24 * 365)};
  /// The current time in Unix seconds; the system clock when empty. Tests set
  /// it to move time without waiting.
  std::function<std::int64_t()> clock;
};

/// Where a proxy agent connects to: a DNS host name or IP address, and a port.
struct ProxyEndpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// A region the installation serves private-network clusters in, with the
/// proxy server agents of that region connect to.
struct Region {
  std::string name;
  ProxyEndpoint proxy;
};

/// The audit record of one download (one issued agent certificate).
struct DownloadRecord {
  ClusterId cluster_id;
  std::string principal;
  std::int64_t downloaded_at;  ///< Unix seconds
  std::string certificate_serial;
  AccessNetwork network;
  std::optional<std::string> region;
  std::optional<std::string> vpcendpoint;
};

/// The state of one installation, kept in one SQLite file (WAL mode), and the
/// rules of GET /v1/clusters/{clusterid}/accessinfo.
///
/// Opening a registry creates the file (mode 0600, since it holds the
/// certificate authority's key) and the certificate authority on first use,
/// and migrates an older schema. Several `Registry` objects, threads and
/// processes may share one file: every method is safe to call concurrently,
/// and the access information of a cluster is handed out exactly once.
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

  /// The file this registry lives in.
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
  /// 409 when the name or id is taken.
  ClusterId register_cluster(const ClusterSpec& spec);
  /// The cluster with `id`; throws 404 when there is none.
  Cluster cluster(const ClusterId& id) const;
  /// All clusters, oldest first.
  std::vector<Cluster> clusters() const;

  /// Creates a token for `principal` (created on first use) that expires
  /// after `ttl` (at least one second). The token is returned once: only a
  /// hash of it is stored.
  std::string create_token(std::string_view principal, std::chrono::seconds ttl);
  /// Revokes `token`; throws 404 when no such token exists.
  void revoke_token(std::string_view token);
  /// Allows `principal` (created on first use) to query cluster `id`;
  /// granting twice is harmless. Throws 404 when the cluster is unknown.
  void grant(std::string_view principal, const ClusterId& id);
  /// Withdraws a grant; throws 404 when there was none.
  void revoke_grant(std::string_view principal, const ClusterId& id);

  // --- the API --------------------------------------------------------------

  /// GET /v1/clusters/{clusterid}/accessinfo. Judges the request by the rules
  /// in order (token 403, cluster id 400, existence and permission 403,
  /// category 400, network parameters 400); the first call that passes them
  /// issues the agent certificate and key and, atomically with returning
  /// them, records the download. Every later call returns {"Downloaded"}.
  /// Storage and crypto failures throw 500 and record nothing.
  AccessInfo access_info(const AccessRequest& request);

  /// `access_info` without the exception: the access information, or the
  /// `Error` that rejects the request (400, 403) or stopped it (500). Only
  /// std::bad_alloc is thrown. Meant for callers that answer errors as often
  /// as successes -- an HTTP front end, the Python binding -- since throwing
  /// costs about as much as the rest of a rejected request.
  std::variant<AccessInfo, Error> try_access_info(const AccessRequest& request);

  /// The audit records of all downloads, oldest first.
  std::vector<DownloadRecord> downloads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clusteraccess
