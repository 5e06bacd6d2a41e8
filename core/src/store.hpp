// Store: the narrow storage interface the rules are written against.
//
// Everything the registry keeps goes through these methods, so a second
// backend (a shared server database) only has to implement this class. Each
// method is atomic on its own and safe to call from several threads.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certificate_authority.hpp"
#include "clusteraccess/cluster.hpp"
#include "clusteraccess/error.hpp"
#include "clusteraccess/registry.hpp"
#include "token.hpp"

namespace clusteraccess {

/// A stored token, found by its hash.
struct TokenRecord {
  TokenHash hash;
  std::string principal;
  std::int64_t expires_at;
  bool revoked;
};

/// What the rules need to know of a cluster for one principal.
struct ClusterAccess {
  ClusterCategory category;
  AccessNetwork network;
  bool granted;
  bool downloaded;
};

/// What every request needs from storage: its token and, for the token's
/// principal, the cluster it names.
struct RequestState {
  std::optional<TokenRecord> token;
  /// Nothing when no cluster id was given, the token is unknown or the
  /// cluster does not exist.
  std::optional<ClusterAccess> access;
};

/// The record of a first download, written atomically by `record_download`.
struct DownloadCommit {
  ClusterId cluster_id;
  std::string principal;
  TokenHash token_hash;
  std::int64_t now;
  std::string certificate_serial;
  AccessNetwork network;
  std::optional<std::string> region;
  std::optional<std::string> vpcendpoint;
};

/// Names of the settings kept by `setting` / `set_setting`.
namespace setting_key {
inline constexpr std::string_view kPublicProxyHost = "public_proxy_host";
inline constexpr std::string_view kPublicProxyPort = "public_proxy_port";
inline constexpr std::string_view kAgentImage = "agent_image";
}  // namespace setting_key

/// Every setting, by key.
using Settings = std::map<std::string, std::string, std::less<>>;

class Store;

/// The proxy server for public-network agents, as kept in the settings.
std::optional<ProxyEndpoint> public_endpoint(const Settings& settings);
std::optional<ProxyEndpoint> public_endpoint(Store& store);
/// The proxy agent image kept in the settings, or the default one.
std::string agent_image(const Settings& settings);

class Store {
 public:
  virtual ~Store() = default;

  /// The stored CA; when there is none, stores and returns `create()`
  /// (exactly one CA wins when several processes open a new registry).
  virtual CaMaterial certificate_authority(const std::function<CaMaterial()>& create) = 0;

  /// Every setting (a handful), in one read.
  virtual Settings settings() = 0;
  /// Sets all `values` (key, value) in one transaction.
  virtual void set_settings(const std::vector<std::pair<std::string_view, std::string>>& values) = 0;

  virtual void put_region(const Region& region) = 0;
  virtual std::optional<Region> region(std::string_view name) = 0;
  virtual std::vector<Region> regions() = 0;

  /// Inserts `cluster`; throws `Error::already_exists` when its id or name is taken.
  virtual void insert_cluster(const Cluster& cluster) = 0;
  virtual std::optional<Cluster> cluster(const ClusterId& id) = 0;
  virtual std::vector<Cluster> clusters() = 0;

  /// Stores a token hash for `principal`, creating the principal if needed.
  virtual void insert_token(std::string_view principal, const TokenHash& hash, std::int64_t now,
                            std::int64_t expires_at) = 0;
  virtual std::optional<TokenRecord> token(const TokenHash& hash) = 0;
  /// Marks the token revoked; false when there is no such token.
  virtual bool revoke_token(const TokenHash& hash, std::int64_t now) = 0;

  /// Grants `principal` (created if needed) access to cluster `id`; false
  /// when the cluster does not exist.
  virtual bool grant(std::string_view principal, const ClusterId& id, std::int64_t now) = 0;
  /// Withdraws a grant; false when there was none.
  virtual bool revoke_grant(std::string_view principal, const ClusterId& id) = 0;

  /// The category, network, grant and download state of cluster `id` for
  /// `principal`, in one read; nothing when the cluster does not exist.
  virtual std::optional<ClusterAccess> cluster_access(const ClusterId& id,
                                                      std::string_view principal) = 0;

  /// The token with `hash` and, when `id` is given and the token exists,
  /// `cluster_access(*id, token principal)`. Every request asks this, so a
  /// backend should answer it in one read; this default makes two.
  virtual RequestState request_state(const TokenHash& hash, const std::optional<ClusterId>& id) {
    RequestState state{token(hash), std::nullopt};
    if (state.token && id) state.access = cluster_access(*id, state.token->principal);
    return state;
  }

  /// In one transaction: marks the cluster downloaded with the certificate
  /// serial and writes the audit record -- but only if the cluster is still
  /// not downloaded, the grant still exists and the token is still live at
  /// `commit.now`. Returns false (and changes nothing) otherwise.
  virtual bool record_download(const DownloadCommit& commit) = 0;

  virtual std::vector<DownloadRecord> downloads() = 0;
};

inline std::optional<ProxyEndpoint> public_endpoint(const Settings& settings) {
  const auto host = settings.find(setting_key::kPublicProxyHost);
  const auto port = settings.find(setting_key::kPublicProxyPort);
  if (host == settings.end() || port == settings.end()) return std::nullopt;
  const std::string& text = port->second;
  std::uint16_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0) {
    throw Error::storage("stored public proxy port is invalid");
  }
  return ProxyEndpoint{host->second, value};
}

inline std::optional<ProxyEndpoint> public_endpoint(Store& store) {
  return public_endpoint(store.settings());
}

inline std::string agent_image(const Settings& settings) {
  const auto image = settings.find(setting_key::kAgentImage);
  return image != settings.end() ? image->second : std::string(kDefaultAgentImage);
}

}  // namespace clusteraccess
