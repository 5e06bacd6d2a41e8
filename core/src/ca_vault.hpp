// CaVault: the certificate authority's private key, sealed at rest.
//
// The store keeps the CA key as opaque bytes sealed under the master key
// (AES-256-GCM, MasterKey), which lives in its own file and never in the
// store: a copy of the database alone cannot mint agent certificates.
// Sealing happens here, above the Store, so every backend gets it for free.
// See docs/contract.md, "Secrets at rest".
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "ca_material.hpp"
#include "master_key.hpp"
#include "store.hpp"

namespace clusteraccess {

class CaVault {
 public:
  /// The associated data of the sealed CA key: the identity of its row, so
  /// that the sealed bytes open nowhere else.
  static constexpr const char* kCaKeyIdentity = "clusteraccess:certificate_authority:1";

  /// A vault whose master key is in `master_key_file`, or, when it is empty,
  /// an ephemeral key made now (for an in-memory registry, which no one can
  /// reopen). When the file exists it is read and checked now -- before the
  /// caller opens the store -- so that a bad key file (wrong size, readable
  /// by others, a symlink, another user's) is refused before the registry
  /// is touched.
  explicit CaVault(std::string master_key_file);

  /// The installation's CA from `store`, its key opened with the master key.
  /// The rules (docs/contract.md, "Secrets at rest"):
  ///  - no CA stored yet: the key file is loaded, or created (0600,
  ///    atomically) when missing; `create` makes the CA, which is stored
  ///    with its key sealed. Racing openers of a new registry end with one
  ///    key file and one CA.
  ///  - a sealed CA: the key file must exist (else `Error::not_configured`,
  ///    "master key file does not exist") and open it (else
  ///    `Error::not_configured`: the master key does not open this
  ///    registry's secrets). Nothing is written either way.
  ///  - a CA whose key is in the clear (a registry written before keys were
  ///    sealed): the key file is loaded, or created when missing, the key is
  ///    sealed in place and no clear copy is left in the store's files
  ///    (Store::replace_clear_ca_key).
  CaMaterial open(Store& store, const std::function<CaMaterial()>& create);

  /// The master key, once `open` has returned (it loads or makes it): the
  /// registry's other secrets (access keys' SKs) are sealed under it too.
  /// Throws `Error::internal` before.
  const MasterKey& master_key() const;

 private:
  const MasterKey& key_or_load_or_create();

  std::string file_;
  std::optional<MasterKey> key_;
};

}  // namespace clusteraccess
