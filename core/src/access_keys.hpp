// AccessKeys: making access keys and opening their sealed secrets.
//
// The SK is sealed here, above the Store, under the master key (as the CA
// key is, ca_vault.hpp), with its row's identity as associated data, so a
// second backend gets the encryption at rest for free and a sealed SK copied
// onto another AK's row does not open (docs/contract.md, Secrets at rest).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "clusteraccess/access_key.hpp"
#include "master_key.hpp"
#include "secret_string.hpp"
#include "store.hpp"

namespace clusteraccess {

/// A new AK: 20 characters A-Z0-9, uniformly drawn from the OpenSSL CSPRNG
/// (about 103 bits: an identifier, unique by chance). Throws
/// `Error::internal` when the random source fails.
std::string generate_access_key_id();
/// A new SK: 40 characters A-Za-z0-9, uniformly drawn (about 238 bits).
/// Throws `Error::internal` when the random source fails.
SecretString generate_secret_key();
/// Whether `text` has the form of an AK.
bool is_access_key_id(std::string_view text) noexcept;

class AccessKeys {
 public:
  /// `store` and `master_key` must outlive this.
  AccessKeys(Store& store, const MasterKey& master_key) noexcept : store_(store), master_key_(master_key) {}

  /// The associated data of `access_key`'s sealed SK.
  static std::string identity(std::string_view access_key);

  /// Makes an access key for `principal`, stores it with its SK sealed, and
  /// returns it with the SK (the only time it is seen).
  NewAccessKey create(std::string_view principal, std::int64_t now, std::int64_t expires_at) const;
  /// The SK of `access_key`, opened from its sealed form (or taken from the
  /// cache of opened SKs, below); throws `Error::not_configured` when the
  /// master key does not open it. Thread-safe. Shared with the cache, not
  /// copied: a request's check allocates nothing, and the SK is wiped once
  /// neither the cache nor a check in flight holds it.
  std::shared_ptr<const SecretString> secret(std::string_view access_key, const StoredAccessKey& stored) const;

  /// How many opened SKs are kept at most.
  static constexpr std::size_t kMaxOpenedSecrets = 256;

 private:
  // An SK opened before, with the sealed bytes it was opened from.
  struct OpenedSecret {
    SecretString sealed;
    std::shared_ptr<const SecretString> secret;
  };

  Store& store_;
  const MasterKey& master_key_;
  // The cache of opened SKs (docs/contract.md, AK/SK): opening one with
  // AES-256-GCM on every signed request cost more than the rest of the
  // signature check. An entry serves only the same AK *and* the same sealed
  // bytes, read from storage by the request itself, so a key re-sealed under
  // another master key or rotated never verifies from the cache; revocation
  // and expiry are judged on that storage read, before the cache is asked,
  // so they take effect at once. The trade-off: the SKs of up to
  // kMaxOpenedSecrets recently used keys stay in this process's memory (as
  // the master key, which opens them all, does anyway), each wiped when it
  // is evicted or the registry is closed (SecretString).
  mutable std::mutex opened_mutex_;
  mutable std::map<std::string, OpenedSecret, std::less<>> opened_;
};

}  // namespace clusteraccess
