#include "secret_string.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace clusteraccess {
namespace {

const std::string kLong(200, 'k');  // heap-allocated, unlike a short string

TEST(SecretString, DefaultIsEmpty) {
  const SecretString secret;
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.view(), "");
}

TEST(SecretString, HoldsItsValue) {
  const SecretString secret(std::string("key material"));
  EXPECT_FALSE(secret.empty());
  EXPECT_EQ(secret.view(), "key material");
}

TEST(SecretString, MoveConstructionTransfersAndEmptiesSource) {
  for (const std::string& value : {std::string("short"), kLong}) {
    SecretString source{std::string(value)};
    const SecretString target(std::move(source));
    EXPECT_EQ(target.view(), value);
    EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): documented state
  }
}

TEST(SecretString, MoveAssignmentReplacesTargetAndEmptiesSource) {
  for (const std::string& value : {std::string("short"), kLong}) {
    SecretString source{std::string(value)};
    SecretString target{std::string(kLong + "old")};
    target = std::move(source);
    EXPECT_EQ(target.view(), value);
    EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move)
  }
}

TEST(SecretString, SelfMoveAssignmentKeepsValue) {
  SecretString secret(std::string("self"));
  SecretString& alias = secret;
  secret = std::move(alias);
  EXPECT_EQ(secret.view(), "self");
}

TEST(SecretString, KeepsEmbeddedNul) {
  const SecretString secret(std::string("a\0b", 3));
  EXPECT_EQ(secret.view().size(), 3u);
}

}  // namespace
}  // namespace clusteraccess
