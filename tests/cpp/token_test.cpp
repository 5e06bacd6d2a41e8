#include "token.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace clusteraccess {
namespace {

TokenHash from_hex(const std::string& hex) {
  TokenHash hash{};
  for (std::size_t i = 0; i < hash.size(); ++i) {
    hash[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return hash;
}

TEST(Token, HasPrefixAnd43Base64UrlCharacters) {
  const std::string token = generate_token();
  ASSERT_EQ(token.size(), 4u + 43u);
  EXPECT_EQ(token.substr(0, 4), "cat_");
  for (const char c : token.substr(4)) {
    const bool url_safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '-' || c == '_';
    EXPECT_TRUE(url_safe) << "unexpected character " << c;
  }
}

TEST(Token, EveryTokenIsDifferent) {
  std::set<std::string> tokens;
  for (int i = 0; i < 1000; ++i) tokens.insert(generate_token());
  EXPECT_EQ(tokens.size(), 1000u);
}

TEST(Token, HashIsSha256) {
  EXPECT_EQ(hash_token("abc"), from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_EQ(hash_token(""), from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(Token, HashIsDeterministicAndDistinguishesTokens) {
  const std::string a = generate_token();
  const std::string b = generate_token();
  EXPECT_EQ(hash_token(a), hash_token(a));
  EXPECT_NE(hash_token(a), hash_token(b));
}

TEST(Token, HashCoversEmbeddedNul) {
  EXPECT_NE(hash_token(std::string_view("ab\0c", 4)), hash_token(std::string_view("ab", 2)));
}

TEST(Token, HashesEqualComparesEveryByte) {
  const TokenHash a = hash_token("cat_one");
  TokenHash b = a;
  EXPECT_TRUE(hashes_equal(a, b));
  b.back() ^= 1;
  EXPECT_FALSE(hashes_equal(a, b));
  b = a;
  b.front() ^= 0x80;
  EXPECT_FALSE(hashes_equal(a, b));
  EXPECT_FALSE(hashes_equal(a, hash_token("cat_two")));
}

}  // namespace
}  // namespace clusteraccess
