#include "master_key.hpp"

#include <array>
#include <algorithm>
#include <memory>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "clusteraccess/error.hpp"
#include "fault_injection.hpp"

namespace clusteraccess {

namespace {

// A leading format byte lets a later version change the algorithm without
// guessing what an old value is.
constexpr unsigned char kFormatAes256Gcm = 1;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kOverhead = 1 + kNonceSize + kTagSize;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const noexcept { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

const unsigned char* bytes_of(std::string_view text) noexcept {
  return reinterpret_cast<const unsigned char*>(text.data());
}

[[noreturn]] void crypto_failed() {
  ERR_clear_error();
  throw Error::internal();
}

[[noreturn]] void does_not_open() {
  ERR_clear_error();
  throw Error::not_configured(
      "the master key does not open this registry's secrets (wrong or damaged master key file)");
}

// AES-256-GCM, looked up once: with EVP_aes_256_gcm() OpenSSL 3 looks the
// provider's implementation up again on every init, which costs more than
// opening a short secret (an access key's SK is opened on every signed
// request).
const EVP_CIPHER* aes_256_gcm() noexcept {
  static EVP_CIPHER* const fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return fetched != nullptr ? fetched : EVP_aes_256_gcm();
}

CipherContext new_context() {
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) crypto_failed();
  return context;
}

}  // namespace

MasterKey MasterKey::generate() {
  SecretString key(std::string(kSize, '\0'));
  if (fault::injected(fault::Point::kRandomBytes) ||
      RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(kSize)) != 1) {
    crypto_failed();
  }
  return MasterKey(std::move(key));
}

MasterKey MasterKey::from_bytes(std::string_view raw) {
  if (raw.size() != kSize) {
    throw Error::not_configured("the master key file must hold exactly 32 bytes");
  }
  return MasterKey(SecretString(std::string(raw)));
}

std::string MasterKey::seal(std::string_view plaintext, std::string_view associated_data) const {
  std::string sealed(kOverhead + plaintext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  out[0] = kFormatAes256Gcm;
  unsigned char* nonce = out + 1;
  unsigned char* ciphertext = nonce + kNonceSize;
  unsigned char* tag = ciphertext + plaintext.size();
  if (RAND_bytes(nonce, static_cast<int>(kNonceSize)) != 1) crypto_failed();

  const CipherContext context = new_context();
  int length = 0;
  if (EVP_EncryptInit_ex(context.get(), aes_256_gcm(), nullptr, bytes_of(key_.view()), nonce) != 1 ||
      EVP_EncryptUpdate(context.get(), nullptr, &length, bytes_of(associated_data),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_EncryptUpdate(context.get(), ciphertext, &length, bytes_of(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), ciphertext + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), tag) != 1) {
    crypto_failed();
  }
  return sealed;
}

SecretString MasterKey::open(std::string_view sealed, std::string_view associated_data) const {
  if (sealed.size() < kOverhead || static_cast<unsigned char>(sealed[0]) != kFormatAes256Gcm) {
    does_not_open();
  }
  const unsigned char* nonce = bytes_of(sealed) + 1;
  const unsigned char* ciphertext = nonce + kNonceSize;
  const std::size_t size = sealed.size() - kOverhead;
  // The tag is an input; OpenSSL's API takes it as non-const.
  std::array<unsigned char, kTagSize> tag{};
  std::copy_n(ciphertext + size, kTagSize, tag.begin());

  SecretString plaintext(std::string(size, '\0'));
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  const CipherContext context = new_context();
  int length = 0;
  if (EVP_DecryptInit_ex(context.get(), aes_256_gcm(), nullptr, bytes_of(key_.view()), nonce) != 1 ||
      EVP_DecryptUpdate(context.get(), nullptr, &length, bytes_of(associated_data),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_DecryptUpdate(context.get(), out, &length, ciphertext, static_cast<int>(size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) != 1 ||
      EVP_DecryptFinal_ex(context.get(), out + length, &length) != 1) {
    does_not_open();
  }
  return plaintext;
}

}  // namespace clusteraccess
