#include "ca_vault.hpp"

#include "clusteraccess/error.hpp"
#include "master_key_file.hpp"

namespace clusteraccess {

CaVault::CaVault(std::string master_key_file) : file_(std::move(master_key_file)) {
  if (file_.empty()) {
    key_ = MasterKey::generate();
  } else {
    key_ = master_key_file::find(file_);
  }
}

const MasterKey& CaVault::key_or_load_or_create() {
  if (!key_) key_ = master_key_file::load_or_create(file_);
  return *key_;
}

CaMaterial CaVault::open(Store& store, const std::function<CaMaterial()>& create) {
  // `create` runs only when no CA is stored, and then while no other opener
  // can store one: the key file is made there, not before, so that a
  // registry that holds a sealed CA never gets a new (wrong) key file.
  StoredCa stored = store.certificate_authority([this, &create] {
    const MasterKey& key = key_or_load_or_create();
    CaMaterial material = create();
    return StoredCa{std::move(material.certificate_pem),
                    SecretString(key.seal(material.private_key_pem.view(), kCaKeyIdentity)), true};
  });

  if (!stored.key_sealed) {
    const MasterKey& key = key_or_load_or_create();
    CaMaterial material{std::move(stored.certificate_pem), std::move(stored.private_key)};
    if (store.replace_clear_ca_key(key.seal(material.private_key_pem.view(), kCaKeyIdentity))) {
      return material;
    }
    // Another opener sealed it first, under the same key file: open theirs.
    stored = store.certificate_authority([]() -> StoredCa { throw Error::internal("the CA vanished"); });
  }

  // A CA made by another opener (or an earlier run) was sealed under the key
  // in the file, which therefore exists: it is never created here.
  if (!key_) key_ = master_key_file::load(file_);
  return CaMaterial{std::move(stored.certificate_pem), key_->open(stored.private_key.view(), kCaKeyIdentity)};
}

}  // namespace clusteraccess

namespace clusteraccess {

const MasterKey& CaVault::master_key() const {
  if (!key_) throw Error::internal("the master key is not loaded yet");
  return *key_;
}

}  // namespace clusteraccess
