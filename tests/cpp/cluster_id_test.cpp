#include "clusteraccess/cluster_id.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "clusteraccess/error.hpp"

namespace clusteraccess {
namespace {

constexpr std::string_view kV4 = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

std::string with_char_at(std::string text, std::size_t offset, char c) {
  text[offset] = c;
  return text;
}

void expect_rejected(std::string_view text, const std::string& why) {
  EXPECT_FALSE(is_valid_cluster_id(text)) << why;
  EXPECT_FALSE(ClusterId::try_parse(text).has_value()) << why;
  EXPECT_THROW(ClusterId::parse(text), Error) << why;
}

TEST(ClusterId, AcceptsLowercaseCanonical) {
  const std::vector<std::string_view> ids = {
      "00000000-0000-0000-0000-000000000000",  // nil
      "ffffffff-ffff-ffff-ffff-ffffffffffff",  // max
      "6ba7b810-9dad-11d1-80b4-00c04fd430c8",  // v1 (the DNS namespace)
      "000003e8-2b3c-21ef-9500-325096b39f47",  // v2
      "a3bb189e-8bf9-3888-9912-ace4e6543002",  // v3
      kV4,                                     // v4
      "886313e1-3b8a-5372-9b90-0c9aee199e5d",  // v5
      "1ef21d2f-1207-6660-8c4f-419efbd44d48",  // v6
      "01890a5d-ac96-774b-bcce-b302099a8057",  // v7
      "0123abcd-89ef-8000-8000-0123456789ab",  // v8
  };
  for (const auto text : ids) {
    EXPECT_TRUE(is_valid_cluster_id(text)) << text;
    ASSERT_TRUE(ClusterId::try_parse(text).has_value()) << text;
    EXPECT_EQ(ClusterId::parse(text).str(), text);
  }
}

TEST(ClusterId, DoesNotCheckVersionOrVariantBits) {
  // Version nibble f and variant nibble 0/c/e: not RFC 4122, still a k8s-uuid.
  for (const std::string_view text : {"12345678-1234-f234-0234-123456789abc",
                                      "12345678-1234-0234-c234-123456789abc",
                                      "12345678-1234-9234-e234-123456789abc"}) {
    EXPECT_TRUE(is_valid_cluster_id(text)) << text;
    EXPECT_EQ(ClusterId::parse(text).str(), text);
  }
}

TEST(ClusterId, AcceptsEveryLowercaseHexDigitInEveryHexPosition) {
  const std::string base(kV4);
  for (std::size_t i = 0; i < base.size(); ++i) {
    if (base[i] == '-') continue;
    for (const char c : std::string_view("0123456789abcdef")) {
      const std::string text = with_char_at(base, i, c);
      EXPECT_TRUE(is_valid_cluster_id(text)) << text;
    }
  }
}

TEST(ClusterId, RejectsUppercase) {
  expect_rejected("3F2504E0-4F89-41D3-9A0C-0305E82C3301", "all uppercase");
  const std::string base(kV4);
  for (std::size_t i = 0; i < base.size(); ++i) {
    if (base[i] >= 'a' && base[i] <= 'f') {
      expect_rejected(with_char_at(base, i, static_cast<char>(base[i] - 'a' + 'A')),
                      "one uppercase digit at " + std::to_string(i));
    }
  }
}

TEST(ClusterId, RejectsBracesAndUrnPrefix) {
  expect_rejected("{3f2504e0-4f89-41d3-9a0c-0305e82c3301}", "braces");
  expect_rejected("urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301", "urn prefix");
  // Same length as a valid id, but framed.
  expect_rejected("{3f2504e0-4f89-41d3-9a0c-0305e82c33}", "braces, 36 characters");
}

TEST(ClusterId, Rejects32BareHexDigits) {
  expect_rejected("3f2504e04f8941d39a0c0305e82c3301", "32 hex digits, no hyphens");
}

TEST(ClusterId, RejectsWrongLengths) {
  const std::string base(kV4);
  expect_rejected(base.substr(0, 35), "35 characters");
  expect_rejected(base + "0", "37 characters");
  expect_rejected("0" + base, "37 characters, leading digit");
  expect_rejected(base.substr(1), "35 characters, first digit dropped");
  expect_rejected(base + base, "two ids");
}

TEST(ClusterId, RejectsEmpty) { expect_rejected("", "empty"); }

TEST(ClusterId, RejectsHyphensElsewhere) {
  const std::string base(kV4);
  // Each hyphen moved one place left and right.
  for (const std::size_t hyphen : {8u, 13u, 18u, 23u}) {
    for (const std::size_t other : {hyphen - 1, hyphen + 1}) {
      std::string text = base;
      std::swap(text[hyphen], text[other]);
      expect_rejected(text, "hyphen moved from " + std::to_string(hyphen) + " to " + std::to_string(other));
    }
  }
  // A hyphen in place of a digit, and a digit in place of a hyphen.
  expect_rejected(with_char_at(base, 0, '-'), "leading hyphen");
  expect_rejected(with_char_at(base, 35, '-'), "trailing hyphen");
  for (const std::size_t hyphen : {8u, 13u, 18u, 23u}) {
    expect_rejected(with_char_at(base, hyphen, '0'), "digit at hyphen offset " + std::to_string(hyphen));
  }
  // Other grouping: 8-4-4-4-12 is the only one.
  expect_rejected("3f2504e04-f89-41d3-9a0c-0305e82c3301", "9-3-4-4-12");
  expect_rejected("3f2504e0-4f89-41d3-9a0c0-305e82c3301", "8-4-4-5-11");
}

TEST(ClusterId, RejectsNonHexCharacters) {
  const std::string base(kV4);
  for (const char c : std::string_view("ghxyzGXZ_+.:/ {}!\"'\\~`\x7f")) {
    expect_rejected(with_char_at(base, 0, c), std::string("non-hex ") + c + " at 0");
    expect_rejected(with_char_at(base, 20, c), std::string("non-hex ") + c + " at 20");
    expect_rejected(with_char_at(base, 35, c), std::string("non-hex ") + c + " at 35");
  }
}

TEST(ClusterId, RejectsWhitespaceAnywhere) {
  const std::string base(kV4);
  for (const char c : std::string_view(" \t\n\r\v\f")) {
    expect_rejected(std::string(1, c) + base, "leading whitespace");
    expect_rejected(base + std::string(1, c), "trailing whitespace");
    // Same length: whitespace in place of a digit or of a hyphen.
    for (const std::size_t i : {0u, 8u, 9u, 17u, 23u, 35u}) {
      expect_rejected(with_char_at(base, i, c), "whitespace at " + std::to_string(i));
    }
  }
}

TEST(ClusterId, RejectsEmbeddedNul) {
  const std::string base(kV4);
  for (const std::size_t i : {0u, 1u, 8u, 20u, 35u}) {
    const std::string text = with_char_at(base, i, '\0');
    const std::string_view view(text.data(), text.size());
    ASSERT_EQ(view.size(), 36u);
    expect_rejected(view, "NUL at " + std::to_string(i));
  }
  // A valid id followed by a NUL: 37 bytes.
  const std::string trailing = base + std::string(1, '\0');
  expect_rejected(std::string_view(trailing.data(), trailing.size()), "trailing NUL");
}

TEST(ClusterId, RejectsNonAsciiDigits) {
  const std::string base(kV4);
  // Two hex digits replaced by a two-byte UTF-8 digit: still 36 bytes.
  const std::string arabic_indic_three = "\xd9\xa3";  // U+0663
  // Three bytes for one fullwidth digit: still 36 bytes when it replaces three.
  const std::string fullwidth_zero = "\xef\xbc\x90";   // U+FF10
  const std::string devanagari_one = "\xe0\xa5\xa7";   // U+0967
  std::string two_byte = base;
  two_byte.replace(0, 2, arabic_indic_three);
  ASSERT_EQ(two_byte.size(), 36u);
  expect_rejected(two_byte, "Arabic-Indic digit");
  std::string fullwidth = base;
  fullwidth.replace(24, 3, fullwidth_zero);
  ASSERT_EQ(fullwidth.size(), 36u);
  expect_rejected(fullwidth, "fullwidth digit");
  std::string devanagari = base;
  devanagari.replace(9, 3, devanagari_one);
  ASSERT_EQ(devanagari.size(), 36u);
  expect_rejected(devanagari, "Devanagari digit");
  // Added rather than replacing: wrong length and non-ASCII.
  expect_rejected(base + fullwidth_zero, "trailing fullwidth digit");
  // Any single byte with the high bit set.
  for (const unsigned byte : {0x80u, 0xa0u, 0xc3u, 0xffu}) {
    expect_rejected(with_char_at(base, 4, static_cast<char>(byte)), "high byte " + std::to_string(byte));
  }
}

TEST(ClusterId, ParseThrowsBadParameterNamingClusterid) {
  try {
    ClusterId::parse("3F2504E0-4F89-41D3-9A0C-0305E82C3301");
    FAIL() << "no exception";
  } catch (const Error& error) {
    EXPECT_EQ(error.status(), Status::kBadRequest);
    EXPECT_EQ(error.http_status(), 400);
    EXPECT_EQ(error.code(), "UCS.01000011");
    EXPECT_NE(error.message().find("clusterid"), std::string::npos) << error.message();
  }
}

TEST(ClusterId, ParseErrorDoesNotEchoTheInput) {
  const std::string hostile = "<script>alert(1)</script>-zzzzzzzzzz";
  ASSERT_EQ(hostile.size(), 36u);
  try {
    ClusterId::parse(hostile);
    FAIL() << "no exception";
  } catch (const Error& error) {
    EXPECT_EQ(error.message().find("script"), std::string::npos) << error.message();
    EXPECT_EQ(std::string(error.what()).find("script"), std::string::npos) << error.what();
  }
}

TEST(ClusterId, StrRoundTrips) {
  for (const std::string_view text : {std::string_view("00000000-0000-0000-0000-000000000000"), kV4,
                                      std::string_view("ffffffff-ffff-ffff-ffff-ffffffffffff")}) {
    const ClusterId id = ClusterId::parse(text);
    EXPECT_EQ(id.str(), text);
    EXPECT_EQ(ClusterId::parse(id.str()), id);
  }
}

TEST(ClusterId, BytesAreNetworkOrderAndRoundTrip) {
  const ClusterId id = ClusterId::parse("00112233-4455-6677-8899-aabbccddeeff");
  const std::array<std::uint8_t, 16> expected = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                                  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  EXPECT_EQ(id.bytes(), expected);
  EXPECT_EQ(ClusterId::from_bytes(expected), id);
  EXPECT_EQ(ClusterId::from_bytes(expected).str(), "00112233-4455-6677-8899-aabbccddeeff");
  // The Boost.Uuid value holds the same bytes.
  EXPECT_TRUE(std::equal(id.uuid().begin(), id.uuid().end(), expected.begin()));
}

TEST(ClusterId, FromBytesRoundTripsArbitraryBytes) {
  for (int seed = 0; seed < 64; ++seed) {
    std::array<std::uint8_t, 16> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<std::uint8_t>((seed * 37 + static_cast<int>(i) * 101) & 0xff);
    }
    const ClusterId id = ClusterId::from_bytes(bytes);
    EXPECT_EQ(id.bytes(), bytes);
    EXPECT_TRUE(is_valid_cluster_id(id.str())) << id.str();
    EXPECT_EQ(ClusterId::parse(id.str()), id);
  }
}

TEST(ClusterId, ComparesByValue) {
  const ClusterId a = ClusterId::parse("00000000-0000-0000-0000-000000000001");
  const ClusterId b = ClusterId::parse("00000000-0000-0000-0000-000000000002");
  EXPECT_EQ(a, ClusterId::parse("00000000-0000-0000-0000-000000000001"));
  EXPECT_NE(a, b);
  EXPECT_TRUE(a < b);
  EXPECT_FALSE(b < a);
}

TEST(ClusterId, GenerateGivesValidDistinctVersion4Ids) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const ClusterId id = ClusterId::generate();
    const std::string text = id.str();
    ASSERT_TRUE(is_valid_cluster_id(text)) << text;
    EXPECT_EQ(text[14], '4') << "version nibble: " << text;
    EXPECT_NE(std::string_view("89ab").find(text[19]), std::string_view::npos) << "variant: " << text;
    EXPECT_EQ(id.uuid().version(), boost::uuids::uuid::version_random_number_based);
    EXPECT_EQ(id.uuid().variant(), boost::uuids::uuid::variant_rfc_4122);
    seen.insert(text);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace clusteraccess
