#include "access_keys.hpp"

#include <array>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "clusteraccess/error.hpp"
#include "fault_injection.hpp"

namespace clusteraccess {

namespace {

constexpr std::string_view kAccessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kSecretKeyAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::size_t kAccessKeyLength = 20;
constexpr std::size_t kSecretKeyLength = 40;

// `length` characters of `alphabet`, each uniform: a random byte is used only
// below the largest multiple of the alphabet's size (rejection sampling), so
// no character is likelier than another. Written into `out` in place, so
// that a secret is never copied through a temporary.
void fill_random(std::string& out, std::size_t length, std::string_view alphabet) {
  const unsigned limit = 256 - 256 % static_cast<unsigned>(alphabet.size());
  std::array<unsigned char, 64> random{};
  out.clear();
  while (out.size() < length) {
    if (fault::injected(fault::Point::kRandomBytes) ||
        RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
      ERR_clear_error();
      OPENSSL_cleanse(random.data(), random.size());
      throw Error::internal("random source failed");
    }
    for (const unsigned char byte : random) {
      if (byte >= limit || out.size() == length) continue;
      out.push_back(alphabet[byte % alphabet.size()]);
    }
  }
  OPENSSL_cleanse(random.data(), random.size());
}

}  // namespace

std::string generate_access_key_id() {
  std::string id;
  id.reserve(kAccessKeyLength);
  fill_random(id, kAccessKeyLength, kAccessKeyAlphabet);
  return id;
}

SecretString generate_secret_key() {
  SecretString secret(std::string(kSecretKeyLength, '\0'));
  std::string buffer;
  buffer.reserve(kSecretKeyLength);  // no reallocation: no stray copy
  try {
    fill_random(buffer, kSecretKeyLength, kSecretKeyAlphabet);
  } catch (...) {
    OPENSSL_cleanse(buffer.data(), buffer.capacity());
    throw;
  }
  std::copy(buffer.begin(), buffer.end(), secret.data());
  OPENSSL_cleanse(buffer.data(), buffer.size());
  return secret;
}

bool is_access_key_id(std::string_view text) noexcept {
  if (text.size() != kAccessKeyLength) return false;
  for (const char c : text) {
    if (kAccessKeyAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string AccessKeys::identity(std::string_view access_key) {
  return "clusteraccess:access_key:" + std::string(access_key);
}

NewAccessKey AccessKeys::create(std::string_view principal, std::int64_t now, std::int64_t expires_at) const {
  std::string access_key = generate_access_key_id();
  SecretString secret = generate_secret_key();
  store_.insert_access_key(principal, access_key, master_key_.seal(secret.view(), identity(access_key)), now,
                           expires_at);
  return NewAccessKey{std::move(access_key), std::string(secret.view()), now, expires_at};
}

std::shared_ptr<const SecretString> AccessKeys::secret(std::string_view access_key,
                                                       const StoredAccessKey& stored) const {
  const std::string_view sealed = stored.sealed_secret.view();
  {
    const std::lock_guard<std::mutex> lock(opened_mutex_);
    const auto found = opened_.find(access_key);
    if (found != opened_.end() && found->second.sealed.view() == sealed) return found->second.secret;
  }
  auto opened = std::make_shared<const SecretString>(master_key_.open(sealed, identity(access_key)));
  const std::lock_guard<std::mutex> lock(opened_mutex_);
  auto slot = opened_.lower_bound(access_key);
  if (slot == opened_.end() || slot->first != access_key) {
    if (opened_.size() >= kMaxOpenedSecrets) {
      // Full: the entry next to the new AK makes room (AKs are random, so
      // which one goes is too); its SK is wiped as its last holder lets go.
      slot = opened_.erase(slot == opened_.end() ? opened_.begin() : slot);
    }
    slot = opened_.emplace_hint(slot, std::string(access_key), OpenedSecret{});
  }
  // Replacing an entry (the key was re-sealed) lets go of the old one.
  slot->second.sealed = SecretString(std::string(sealed));
  slot->second.secret = opened;
  return opened;
}

}  // namespace clusteraccess
