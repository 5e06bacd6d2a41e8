// MasterKey: sealing secrets at rest with AES-256-GCM.
#include "master_key.hpp"

#include <gtest/gtest.h>

#include <string>

#include "clusteraccess/error.hpp"

namespace clusteraccess {
namespace {

constexpr std::string_view kSecret = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n";

void expect_does_not_open(const MasterKey& key, const std::string& sealed, std::string_view aad) {
  try {
    key.open(sealed, aad);
    FAIL() << "a value that must not open opened";
  } catch (const Error& error) {
    EXPECT_EQ(error.http_status(), 500);
    EXPECT_EQ(error.code(), error_code::kNotConfigured);
    EXPECT_NE(error.message().find("master key"), std::string::npos) << error.message();
  }
}

TEST(MasterKey, SealedValueOpensWithTheSameKeyAndAssociatedData) {
  const MasterKey key = MasterKey::generate();
  const std::string sealed = key.seal(kSecret, "ca:1");
  EXPECT_EQ(key.open(sealed, "ca:1").view(), kSecret);
}

TEST(MasterKey, SealedValueHoldsNoPlaintextAndDiffersEachTime) {
  const MasterKey key = MasterKey::generate();
  const std::string first = key.seal(kSecret, "ca:1");
  const std::string second = key.seal(kSecret, "ca:1");
  EXPECT_EQ(first.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(first.find("MIGHAgEA"), std::string::npos);
  EXPECT_NE(first, second) << "a nonce was reused";
  EXPECT_EQ(first.size(), kSecret.size() + 1 + 12 + 16);
}

TEST(MasterKey, AnotherKeyDoesNotOpenIt) {
  const std::string sealed = MasterKey::generate().seal(kSecret, "ca:1");
  expect_does_not_open(MasterKey::generate(), sealed, "ca:1");
}

TEST(MasterKey, AValueMovedToAnotherRowDoesNotOpen) {
  const MasterKey key = MasterKey::generate();
  expect_does_not_open(key, key.seal(kSecret, "ca:1"), "ca:2");
  expect_does_not_open(key, key.seal(kSecret, "accesskey:AK1"), "accesskey:AK2");
}

TEST(MasterKey, EveryFlippedByteIsDetected) {
  const MasterKey key = MasterKey::generate();
  const std::string sealed = key.seal("short secret", "row");
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string damaged = sealed;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    expect_does_not_open(key, damaged, "row");
  }
}

TEST(MasterKey, TruncatedOrEmptyValuesDoNotOpen) {
  const MasterKey key = MasterKey::generate();
  const std::string sealed = key.seal("short secret", "row");
  for (std::size_t size = 0; size < sealed.size(); ++size) {
    expect_does_not_open(key, sealed.substr(0, size), "row");
  }
}

TEST(MasterKey, EmptyPlaintextRoundTrips) {
  const MasterKey key = MasterKey::generate();
  EXPECT_EQ(key.open(key.seal("", "row"), "row").view(), "");
}

TEST(MasterKey, KeyFromBytesMustBe32Bytes) {
  const std::string raw(32, 'k');
  const MasterKey key = MasterKey::from_bytes(raw);
  EXPECT_EQ(key.bytes(), raw);
  EXPECT_EQ(MasterKey::from_bytes(raw).open(key.seal("x", "r"), "r").view(), "x");
  for (const std::size_t size : {0, 1, 31, 33, 64}) {
    try {
      MasterKey::from_bytes(std::string(size, 'k'));
      FAIL() << size;
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), error_code::kNotConfigured);
    }
  }
}

TEST(MasterKey, GeneratedKeysDiffer) {
  EXPECT_NE(MasterKey::generate().bytes(), MasterKey::generate().bytes());
}

}  // namespace
}  // namespace clusteraccess
