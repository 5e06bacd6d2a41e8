// MasterKey: the key that seals the registry's secrets at rest.
//
// The CA private key (and, later, every access key's secret) is stored sealed
// with AES-256-GCM under a 32-byte master key that never enters the database:
// whoever holds a copy of the database alone cannot mint agent certificates.
// Each sealed value names what it belongs to (its row's identity) as
// associated data, so a sealed value copied onto another row does not open.
// See docs/contract.md, "Secrets at rest".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "secret_string.hpp"

namespace clusteraccess {

class MasterKey {
 public:
  static constexpr std::size_t kSize = 32;

  /// A fresh random key. Throws `Error::internal` when the random source fails.
  static MasterKey generate();
  /// The key made of exactly `kSize` raw bytes; throws `Error::not_configured`
  /// for any other size.
  static MasterKey from_bytes(std::string_view raw);

  /// `plaintext` sealed: a format byte, a random 96-bit nonce, the ciphertext
  /// and the 128-bit tag. Throws `Error::internal` when OpenSSL fails.
  std::string seal(std::string_view plaintext, std::string_view associated_data) const;
  /// The plaintext of `sealed`; throws `Error::not_configured` when it was not
  /// sealed under this key with this `associated_data` (a wrong master key, a
  /// value moved to another row, or a damaged value).
  SecretString open(std::string_view sealed, std::string_view associated_data) const;

  /// The raw key, for writing it to its file.
  std::string_view bytes() const noexcept { return key_.view(); }

 private:
  explicit MasterKey(SecretString key) noexcept : key_(std::move(key)) {}
  SecretString key_;
};

}  // namespace clusteraccess
