// Wiping key material held in text: wipe(), SecretDocuments, and AccessInfo.
//
// What can be checked portably is checked: that wipe() zeroes a buffer it
// keeps allocated, that rendered documents are wiped unless handed on, and
// that AccessInfo hands its buffers over on a move and cannot be copied. That
// freed memory holds no key is checked from outside the process, by the
// Python suite's process-memory scan.
#include "secret_documents.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "clusteraccess/access_info.hpp"
#include "fault_injection.hpp"

namespace clusteraccess {
namespace {

const std::string kKey(300, 'k');  // heap-allocated, unlike a short string

bool all_zero(const char* bytes, std::size_t size) {
  return std::all_of(bytes, bytes + size, [](char c) { return c == '\0'; });
}

class Wiping : public ::testing::Test {
 protected:
  void SetUp() override {
    fault::clear_hooks();
    fault::set_hook(fault::Point::kUnreturnedDocumentsWiped, [this] { return ++wiped_, false; });
  }
  void TearDown() override { fault::clear_hooks(); }
  int wiped_ = 0;
};

// The buffer stays allocated (so reading it here is reading owned memory)
// and every byte of its capacity is zero.
TEST_F(Wiping, WipeZeroesTheWholeBufferBeforeItIsReleased) {
  std::string text = kKey;
  text.resize(100);  // bytes past the size are key material too
  const char* buffer = text.data();
  const std::size_t capacity = text.capacity();
  ASSERT_GE(capacity, kKey.size());
  wipe(text);
  EXPECT_TRUE(text.empty());
  ASSERT_EQ(text.data(), buffer);
  ASSERT_EQ(text.capacity(), capacity);
  EXPECT_TRUE(all_zero(buffer, capacity));
}

TEST_F(Wiping, WipeOfDocumentsZeroesEachOneAndEmptiesTheList) {
  std::vector<std::string> documents{kKey, kKey + kKey};
  std::vector<std::pair<const char*, std::size_t>> buffers;
  for (const std::string& document : documents) buffers.emplace_back(document.data(), document.size());
  // Keep the strings (and so their buffers) alive past the wipe: wipe them
  // one by one through the vector overload's building block, then the list.
  for (std::string& document : documents) wipe(document);
  for (const auto& [buffer, size] : buffers) EXPECT_TRUE(all_zero(buffer, size));
  wipe(documents);
  EXPECT_TRUE(documents.empty());
}

TEST_F(Wiping, SecretDocumentsAreWipedWhenDroppedUnlessReleased) {
  {
    SecretDocuments documents;
    documents.push_back(kKey);
    documents.push_back("deployment");
    EXPECT_EQ(documents.size(), 2u);
    EXPECT_EQ(documents[0], kKey);
  }
  EXPECT_EQ(wiped_, 1);

  std::vector<std::string> released;
  {
    SecretDocuments documents;
    documents.push_back(kKey);
    const char* buffer = documents[0].data();
    released = documents.release();
    EXPECT_EQ(documents.size(), 0u);
    ASSERT_EQ(released.size(), 1u);
    EXPECT_EQ(released[0].data(), buffer) << "released by copy, not by handing the buffer over";
  }
  EXPECT_EQ(wiped_, 1) << "released documents are the new owner's to wipe";
  EXPECT_EQ(released[0], kKey);
}

TEST_F(Wiping, SecretDocumentsMoveHandsTheBuffersOverAndAreWipedOnce) {
  {
    SecretDocuments source;
    source.push_back(kKey);
    const char* buffer = source[0].data();
    SecretDocuments target(std::move(source));
    EXPECT_EQ(source.size(), 0u);  // NOLINT(bugprone-use-after-move): documented state
    ASSERT_EQ(target.size(), 1u);
    EXPECT_EQ(target[0].data(), buffer);
    SecretDocuments assigned;
    assigned.push_back(kKey);
    assigned = std::move(target);  // wipes what `assigned` held
    EXPECT_EQ(wiped_, 1);
  }
  EXPECT_EQ(wiped_, 2);
}

TEST_F(Wiping, AccessInfoIsMoveOnlyAndAMoveHandsTheBuffersOver) {
  static_assert(!std::is_copy_constructible_v<AccessInfo>);
  static_assert(!std::is_copy_assignable_v<AccessInfo>);
  static_assert(std::is_nothrow_move_constructible_v<AccessInfo>);
  static_assert(std::is_nothrow_move_assignable_v<AccessInfo>);
  AccessInfo source({kKey, "deployment"}, std::string("1a2b"));
  const char* buffer = source.documents[0].data();
  AccessInfo target(std::move(source));
  EXPECT_TRUE(source.documents.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(source.is_first_download());
  ASSERT_EQ(target.documents.size(), 2u);
  EXPECT_EQ(target.documents[0].data(), buffer);
  EXPECT_EQ(target.certificate_serial, std::optional<std::string>("1a2b"));

  AccessInfo assigned({kDownloaded}, std::nullopt);
  assigned = std::move(target);
  EXPECT_TRUE(target.documents.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(assigned.documents[0].data(), buffer);
  EXPECT_TRUE(assigned.is_first_download());
}

}  // namespace
}  // namespace clusteraccess
