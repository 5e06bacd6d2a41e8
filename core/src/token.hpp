// Bearer tokens: generation, hashing, comparison.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace clusteraccess {

/// SHA-256 of a token: the only form in which a token is stored.
using TokenHash = std::array<std::uint8_t, 32>;

/// A new token: "cat_" followed by 43 base64url characters (256 random bits
/// from the OpenSSL CSPRNG). Throws `Error::internal` (500) if the random
/// source fails.
std::string generate_token();

/// SHA-256 of `token`. Tokens carry 256 bits of entropy, so an unsalted fast
/// hash is the right tool (as for API keys): it cannot be brute-forced.
TokenHash hash_token(std::string_view token) noexcept;

/// Compares two hashes in constant time.
bool hashes_equal(const TokenHash& a, const TokenHash& b) noexcept;

}  // namespace clusteraccess
