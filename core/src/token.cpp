#include "token.hpp"

#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64.hpp"
#include "clusteraccess/error.hpp"
#include "fault_injection.hpp"

namespace clusteraccess {

namespace {

constexpr std::string_view kPrefix = "cat_";
constexpr std::size_t kRandomBytes = 32;

}  // namespace

std::string generate_token() {
  std::array<unsigned char, kRandomBytes> random{};
  if (fault::injected(fault::Point::kRandomBytes) ||
      RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    ERR_clear_error();
    throw Error::internal("random source failed");
  }
  const std::string encoded =
      base64url_encode(std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
  OPENSSL_cleanse(random.data(), random.size());

  std::string token;
  token.reserve(kPrefix.size() + encoded.size());
  token.append(kPrefix).append(encoded);
  return token;
}

namespace {

// SHA-256, looked up once. With EVP_sha256() OpenSSL 3 looks the provider's
// implementation up again on every digest, which costs more than hashing a
// token.
const EVP_MD* sha256() noexcept {
  static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

}  // namespace

TokenHash hash_token(std::string_view token) noexcept {
  TokenHash hash{};
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), hash.data(), &length, sha256(), nullptr) != 1 ||
      length != hash.size()) {
    // SHA-256 itself is broken. Returning any fixed value would make tokens
    // interchangeable, and this function cannot throw: fail closed.
    std::abort();
  }
  return hash;
}

bool hashes_equal(const TokenHash& a, const TokenHash& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace clusteraccess
