#include "base64.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>
#include <vector>

namespace clusteraccess {
namespace {

std::string openssl_base64(const std::string& bytes) {
  std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n));
}

std::string random_bytes(std::size_t n) {
  std::string bytes(n, '\0');
  if (n > 0) RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n));
  return bytes;
}

TEST(Base64, EncodesRfc4648TestVectorsWithPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, UrlFormOmitsPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, StandardUsesPlusAndSlashUrlUsesMinusAndUnderscore) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64url_encode(bytes), "-_-_");
}

TEST(Base64, EncodesEmbeddedNulAndHighBytes) {
  const std::string bytes("\0\0\0\xff", 4);
  EXPECT_EQ(base64_encode(bytes), "AAAA/w==");
}

TEST(Base64, MatchesOpenSslForEveryLengthUpTo300) {
  for (std::size_t n = 0; n <= 300; ++n) {
    const std::string bytes = random_bytes(n);
    const std::string expected = openssl_base64(bytes);
    ASSERT_EQ(base64_encode(bytes), expected) << "length " << n;

    std::string url = expected;
    while (!url.empty() && url.back() == '=') url.pop_back();
    for (char& c : url) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    ASSERT_EQ(base64url_encode(bytes), url) << "length " << n;
  }
}

TEST(Base64, OutputIsOneLineEvenForLongInput) {
  const std::string encoded = base64_encode(random_bytes(4096));
  EXPECT_EQ(encoded.size(), 4 * ((4096 + 2) / 3));
  EXPECT_EQ(encoded.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace clusteraccess
