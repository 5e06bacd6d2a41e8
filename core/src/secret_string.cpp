#include "secret_string.hpp"

#include <openssl/crypto.h>

namespace clusteraccess {

SecretString::~SecretString() { wipe(); }

SecretString::SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {
  // A short string is copied, not stolen, so the source still holds the bytes.
  other.wipe();
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

void SecretString::wipe() noexcept {
  // Growing to the capacity never reallocates; it makes the whole buffer,
  // including bytes past the current size, legitimately writable.
  value_.resize(value_.capacity());
  OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

}  // namespace clusteraccess
