// Store: the storage interface the registry and its rules are written against.
//
// Everything the registry keeps goes through these methods, and they are all
// it needs: a second backend (a shared server database) implements exactly
// this class. The types crossing it are plain values; no notion of SQL, of
// a connection or of keys and certificates leaks through.
//
// Common to every method:
//  - It may be called from several threads at once, and several stores (in
//    several processes) may share one backing database.
//  - It is atomic on its own: other callers see all of its writes or none.
//  - It throws `Error` (500, `Error::storage`) when the backend fails, and
//    then has written nothing. "Nothing found" is never an exception: it is
//    an empty optional, false or an empty list, as each method says.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secret_string.hpp"
#include "clusteraccess/access_key.hpp"
#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/delivery_guard.hpp"
#include "clusteraccess/download_record.hpp"
#include "clusteraccess/installation.hpp"
#include "clusteraccess/lifecycle_event.hpp"
#include "token.hpp"

namespace clusteraccess {

/// A stored token, found by its hash.
struct TokenRecord {
  TokenHash hash;
  std::string principal;
  std::int64_t expires_at;  ///< Unix seconds; dead from this second on
  bool revoked;
};

/// Every installation setting, by key, as text. Their meaning and encoding
/// belong to installation_settings.hpp, not to the store.
using Settings = std::map<std::string, std::string, std::less<>>;

/// What the rules need to know of a cluster the principal holds a grant on.
struct ClusterAccess {
  ClusterCategory category;
  AccessNetwork network;
  bool downloaded;  ///< the access information has been handed out (this generation)
  std::int64_t generation = 1;  ///< the cluster's generation when read
};

/// What every request needs from storage: its token and, for the token's
/// principal, the cluster it names.
struct RequestState {
  /// Nothing when no token has this hash.
  std::optional<TokenRecord> token;
  /// Nothing when no cluster id was given, the token is unknown, or its
  /// principal holds no grant on the cluster (whether or not it exists).
  /// A backend must do the same work in each of those cases -- look the
  /// cluster up only through the grant -- so that the time a request takes
  /// says nothing about clusters the caller may not see.
  std::optional<ClusterAccess> access;
};

/// A stored access key, found by its AK: the SK as the layer above sealed it.
struct StoredAccessKey {
  std::string principal;
  SecretString sealed_secret;
  std::int64_t expires_at;  ///< Unix seconds; dead from this second on
  bool revoked;
};

/// What a signed request needs from storage: its access key and, for the
/// key's principal, the cluster it names (as `RequestState` for a token).
struct SignedRequestState {
  /// Nothing when no access key has this AK.
  std::optional<StoredAccessKey> key;
  /// As `RequestState::access`, through the key's principal's grant.
  std::optional<ClusterAccess> access;
};

/// The record of a first download, written by `record_download`.
struct DownloadCommit {
  ClusterId cluster_id;
  std::string principal;
  TokenHash token_hash;
  std::int64_t now;  ///< Unix seconds: the download time, and when the token must still be live
  std::string certificate_serial;
  AccessNetwork network;
  std::optional<std::string> region;
  std::optional<std::string> vpcendpoint;
  /// The generation the download was admitted in: the commit happens only if
  /// the cluster is still in it (an activation in between makes it lose).
  std::int64_t generation = 1;
  /// Set when the caller signed with this access key rather than a token:
  /// the commit then requires the key (not `token_hash`) still live.
  std::optional<std::string> access_key{};
  /// The request's delivery guard, or null. Read once the write lock is
  /// held, right before anything is committed: waiting for the lock can take
  /// up to the busy timeout, and a client that leaves meanwhile must still
  /// find nothing recorded.
  const DeliveryGuard* delivery = nullptr;
  /// What the download hands out, made from the installation settings once
  /// the commit has won, or empty. The store calls it exactly when the commit
  /// changes the cluster (never for a loser), inside the commit's own
  /// transaction -- the cluster's row lock held, before anything is
  /// committed -- with every setting as `Store::settings` returns them, read
  /// in that transaction: the settings cost no round trip of their own, and
  /// what is handed out is consistent with what is recorded. Whatever it
  /// throws rolls the transaction back (nothing recorded) and is thrown by
  /// `record_download`. A retried transaction calls it again: the
  /// last call made is the one whose transaction committed.
  std::function<void(const Settings&)> with_settings{};
  /// Makes the key whose serial is `certificate_serial`, or empty. The store
  /// calls it once per attempt, before `with_settings` and before it knows
  /// whether the commit wins, at a moment that costs the download the least:
  /// a backend on a server calls it once the commit's statements are sent,
  /// while the server runs them; an embedded one before it takes its write
  /// lock (key generation never holds it). Whatever it throws rolls the
  /// commit back (nothing recorded) and is thrown by `record_download`.
  std::function<void()> make_key{};
};

/// An activation or a deletion, as `reactivate` and `delete_cluster` take it.
struct ClusterChange {
  ClusterId cluster_id;
  /// When set, the change happens only if this principal holds a grant on
  /// the cluster at commit time (the API form); unset for an administrator.
  std::optional<std::string> principal{};
  /// Who is recorded in the audit event: the principal, or "admin".
  std::string actor;
  std::int64_t now;
  /// The connection window in seconds, to tell a failed generation (whose
  /// certificate counts as revoked since the window ended) from a live one.
  std::int64_t window;
};

/// What a change did.
enum class ChangeOutcome {
  kDone,
  kNotFound,  ///< no such cluster, or (API form) the principal holds no grant on it
};

/// A revoked agent certificate as stored: its serial and since when.
struct StoredRevocation {
  std::string serial_hex;
  std::int64_t revoked_at;
};

/// One page of a principal's clusters, with how many there are in all.
struct ClusterListing {
  std::vector<Cluster> clusters;
  std::int64_t total = 0;
};

/// The certificate authority as a store keeps it. The store never interprets
/// the key: it keeps the bytes the layer above gives it (ca_vault.hpp), so a
/// backend gets the encryption at rest without knowing of it.
struct StoredCa {
  std::string certificate_pem;
  /// The private key sealed under the master key -- or, when `key_sealed` is
  /// false, its PKCS#8 PEM in the clear, as a registry written before
  /// secrets were sealed kept it, until `replace_clear_ca_key` seals it.
  SecretString private_key;
  bool key_sealed;
};

/// Settings to write together, (key, value).
using SettingValues = std::vector<std::pair<std::string, std::string>>;

class Store {
 public:
  virtual ~Store() = default;

  // --- the certificate authority --------------------------------------------

  /// The stored CA. When there is none, calls `create` and stores what it
  /// returns -- unless another caller stored one meanwhile. However many
  /// callers (threads, processes opening a new registry) race, exactly one CA
  /// is stored and every caller returns that one; a loser's `create` result,
  /// if it was called at all, is discarded. `create` runs at most once per
  /// call, while no other caller can store a CA. When `create` throws,
  /// nothing is stored and the exception propagates.
  virtual StoredCa certificate_authority(const std::function<StoredCa()>& create) = 0;

  /// Replaces a CA private key kept in the clear (`key_sealed` false) with
  /// `sealed`, and marks it sealed, in one transaction -- only while it is
  /// still clear: returns false, changing nothing, when there is no CA or its
  /// key is sealed already (a racing caller sealed it first). When it returns
  /// true, no clear copy of the old key remains in the backend's files: not
  /// in free pages, not in a journal or write-ahead log. (Should another
  /// connection keep a read snapshot open through the whole busy timeout, the
  /// old pages are overwritten by the backend's next checkpoint instead, at
  /// the latest when its last connection closes.)
  virtual bool replace_clear_ca_key(std::string_view sealed) = 0;

  // --- installation settings --------------------------------------------------

  /// Every setting, from one consistent read (a writer's `set_settings` is
  /// seen whole or not at all). Empty when nothing is set.
  virtual Settings settings() = 0;
  /// Sets each (key, value) of `values`, replacing a value already set, in
  /// one transaction. Racing writers of one key: the last to commit wins.
  virtual void set_settings(const SettingValues& values) = 0;

  /// Adds `region`, or replaces the proxy of the region of that name.
  /// Racing writers of one region: the last to commit wins.
  virtual void put_region(const Region& region) = 0;
  /// The region named `name`; nothing when there is none.
  virtual std::optional<Region> region(std::string_view name) = 0;
  /// Every region, by name.
  virtual std::vector<Region> regions() = 0;

  // --- clusters ---------------------------------------------------------------

  /// Inserts `cluster` (not downloaded, generation 1) with its labels and
  /// annotations. Throws `Error::already_exists` (409) when its id or its
  /// name is taken, or its id was that of a deleted cluster (ids are never
  /// reused); of racing inserts of one id or name, exactly one succeeds and
  /// the others get that 409.
  virtual void insert_cluster(const Cluster& cluster) = 0;
  /// `insert_cluster`, and in the same transaction a grant on it to
  /// `grantee` (created if needed): the registering caller.
  virtual void insert_granted_cluster(const Cluster& cluster, std::string_view grantee) = 0;
  /// The cluster with `id`, with its labels and annotations; nothing when
  /// there is none. `phase` is left for the caller to judge.
  virtual std::optional<Cluster> cluster(const ClusterId& id) = 0;
  /// Every cluster, oldest first (by `created_at`, then name).
  virtual std::vector<Cluster> clusters() = 0;
  /// The clusters `principal` holds a grant on, by cluster id, `limit` of
  /// them from `offset` on, and how many there are: reached through the
  /// principal's grants only, so its cost follows the principal's grants,
  /// not the registry's size.
  virtual ClusterListing granted_clusters(std::string_view principal, std::int64_t limit,
                                          std::int64_t offset) = 0;

  // --- the lifecycle ------------------------------------------------------------

  /// In one transaction: revokes the cluster's current certificate (if it
  /// was downloaded: at `change.now` for "activation", or at the window's
  /// end when the generation had failed, with its failure event), clears
  /// the download and the connection, moves to the next generation and
  /// writes the activation event. A CCE cluster is refused by the caller.
  virtual ChangeOutcome reactivate(const ClusterChange& change) = 0;
  /// In one transaction: revokes the current certificate as `reactivate`
  /// does (reason "deletion"), removes the cluster, its labels, annotations
  /// and grants, keeps its id as a tombstone, and writes the deletion event.
  virtual ChangeOutcome delete_cluster(const ClusterChange& change) = 0;
  /// Marks the cluster Available -- only if `serial` is its current
  /// certificate, not revoked, and it is connected already or downloaded
  /// less than `window` seconds before `now`. The first connection of a
  /// generation writes the connection event. False, nothing changed,
  /// otherwise.
  virtual bool connect_agent(const ClusterId& id, std::string_view serial, std::int64_t now,
                             std::int64_t window) = 0;
  /// Every revoked serial: those revoked by an activation or a deletion, and
  /// the current certificate of every cluster whose window passed (revoked
  /// since the window's end), one consistent read.
  virtual std::vector<StoredRevocation> revocations(std::int64_t now, std::int64_t window) = 0;
  /// The audit events (downloads included), of one cluster or of all, by
  /// time. Failures observed now and not yet recorded are recorded first
  /// (once per generation, at the window's end).
  virtual std::vector<LifecycleEvent> events(const std::optional<ClusterId>& id, std::int64_t now,
                                             std::int64_t window) = 0;

  // --- principals, tokens, grants ---------------------------------------------

  /// Stores token `hash` for `principal`, creating the principal if needed,
  /// in one transaction. A hash that is stored already throws
  /// `Error::storage` and changes nothing (tokens are random: a collision
  /// means the random source is broken).
  virtual void insert_token(std::string_view principal, const TokenHash& hash, std::int64_t now,
                            std::int64_t expires_at) = 0;
  /// Marks the token revoked at `now`; a token revoked before keeps its first
  /// revocation time and still counts as found. False when there is no such
  /// token.
  virtual bool revoke_token(const TokenHash& hash, std::int64_t now) = 0;

  /// Grants `principal` (created if needed) access to cluster `id`; granting
  /// twice is harmless. The existence check and the grant are one
  /// transaction. False, and nothing written, when the cluster does not exist.
  virtual bool grant(std::string_view principal, const ClusterId& id, std::int64_t now) = 0;
  /// Withdraws a grant. False when there was none (a racing second revoke
  /// gets false).
  virtual bool revoke_grant(std::string_view principal, const ClusterId& id) = 0;

  /// Stores access key `access_key` for `principal` (created if needed),
  /// with its SK as sealed by the layer above, in one transaction. An AK that
  /// is stored already throws `Error::storage` and changes nothing (AKs are
  /// random: a collision means the random source is broken).
  virtual void insert_access_key(std::string_view principal, std::string_view access_key,
                                 std::string_view sealed_secret, std::int64_t now,
                                 std::int64_t expires_at) = 0;
  /// Marks the access key revoked at `now`, keeping a first revocation time.
  /// False when there is no such key.
  virtual bool revoke_access_key(std::string_view access_key, std::int64_t now) = 0;
  /// Every access key, oldest first; never a secret.
  virtual std::vector<AccessKeyInfo> access_keys() = 0;

  // --- the API ----------------------------------------------------------------

  /// The token with `hash` and, when `id` is given and the token exists, the
  /// category, network, grant and download state of cluster `id` for the
  /// token's principal -- all from one consistent read. Every request asks
  /// this once, so a backend should answer it in one round trip.
  virtual RequestState request_state(const TokenHash& hash, const std::optional<ClusterId>& id) = 0;
  /// `request_state` for a signed request: the access key `access_key` and,
  /// when `id` is given and the key exists, cluster `id` as seen through the
  /// key's principal's grant -- one consistent read, the same work whether
  /// or not the cluster exists.
  virtual SignedRequestState signed_request_state(std::string_view access_key,
                                                  const std::optional<ClusterId>& id) = 0;

  /// In one transaction: marks the cluster downloaded with the certificate
  /// serial and writes the audit record -- but only if, at commit time, the
  /// cluster is still not downloaded and still in `commit.generation`, `commit.principal` still holds a grant
  /// on it and `commit.token_hash` is still a live token of that principal at
  /// `commit.now` (not revoked, `expires_at` > `commit.now`) -- or, for a
  /// signed request, `commit.access_key` a live access key of it. Returns false,
  /// and changes nothing, otherwise. Of racing calls for one cluster exactly
  /// one returns true; the others return false, never an error merely for
  /// losing (an error means the backend failed, e.g. its lock was held past
  /// the busy timeout). Throws, with nothing written, when the audit record
  /// cannot be written (e.g. the serial is recorded already): the cluster
  /// is never marked downloaded without its audit record. Throws
  /// `Error::request_abandoned`, with nothing written, when `commit.delivery`
  /// is abandoned by the time the write lock is held. Calls
  /// `commit.make_key`, then, when it wins, `commit.with_settings` before it
  /// commits; what either throws is thrown, with nothing written.
  virtual bool record_download(const DownloadCommit& commit) = 0;

  /// Every audit record, in the order they were recorded.
  virtual std::vector<DownloadRecord> downloads() = 0;

  // --- operations ---------------------------------------------------------------

  /// Writes a consistent snapshot of everything stored (one committed state,
  /// never a half-written download) to a new file at `destination`, created
  /// with mode 0600 and never over an existing file, while other callers go
  /// on. Throws, and leaves no file behind, when it cannot. A backend whose
  /// database is not a file refuses with `Error::not_configured`, naming the
  /// database's own backup tool.
  virtual void backup(const std::string& destination) = 0;
};

}  // namespace clusteraccess
