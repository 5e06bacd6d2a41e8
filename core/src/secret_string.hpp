// SecretString: bytes that are wiped from memory when they are destroyed.
#pragma once

#include <string>
#include <string_view>

namespace clusteraccess {

/// Holds key material. The buffer is overwritten (OPENSSL_cleanse) before it
/// is released, so a private key does not linger in freed heap memory. It is
/// movable but not copyable, so that copies are always deliberate.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) noexcept : value_(std::move(value)) {}
  ~SecretString();
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;

  std::string_view view() const noexcept { return value_; }
  /// The bytes, writable in place (to fill a buffer made of the right size).
  char* data() noexcept { return value_.data(); }
  bool empty() const noexcept { return value_.empty(); }

 private:
  void wipe() noexcept;
  std::string value_;
};

}  // namespace clusteraccess
