#include "clusteraccess/error.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace clusteraccess {
namespace {

// A strict parser for the one JSON shape the error body has: an object whose
// members are all strings (RFC 8259: no raw control characters in strings,
// only the standard escapes, no trailing garbage). Returns nothing for
// anything that is not valid JSON of that shape.
class JsonObjectParser {
 public:
  explicit JsonObjectParser(std::string_view text) : text_(text) {}

  std::optional<std::map<std::string, std::string>> parse() {
    std::map<std::string, std::string> members;
    skip_space();
    if (!consume('{')) return std::nullopt;
    skip_space();
    if (consume('}')) return finish(members);
    while (true) {
      skip_space();
      auto key = string();
      if (!key) return std::nullopt;
      skip_space();
      if (!consume(':')) return std::nullopt;
      skip_space();
      auto value = string();
      if (!value) return std::nullopt;
      if (!members.emplace(*key, *value).second) return std::nullopt;  // duplicate key
      skip_space();
      if (consume(',')) continue;
      if (consume('}')) return finish(members);
      return std::nullopt;
    }
  }

 private:
  std::optional<std::map<std::string, std::string>> finish(std::map<std::string, std::string>& members) {
    skip_space();
    if (pos_ != text_.size()) return std::nullopt;
    return members;
  }

  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::optional<std::string> string() {
    if (!consume('"')) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return std::nullopt;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return std::nullopt;
          std::uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            const int h = hex(text_[pos_++]);
            if (h < 0) return std::nullopt;
            cp = cp << 4 | static_cast<std::uint32_t>(h);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;  // unterminated
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::optional<std::map<std::string, std::string>> parse_json(std::string_view text) {
  return JsonObjectParser(text).parse();
}

TEST(ErrorJsonParser, RejectsInvalidJson) {
  // The checker itself must tell valid from invalid, or the tests below prove nothing.
  EXPECT_TRUE(parse_json(R"({"a": "b"})").has_value());
  EXPECT_FALSE(parse_json(R"({"a": "b"c"})").has_value());
  EXPECT_FALSE(parse_json("{\"a\": \"line\nbreak\"}").has_value());
  EXPECT_FALSE(parse_json(R"({"a": "back\slash"})").has_value());
  EXPECT_FALSE(parse_json(R"({"a": "b"} x)").has_value());
}

void expect_error(const Error& error, Status status, int http, std::string_view code) {
  EXPECT_EQ(error.status(), status);
  EXPECT_EQ(error.http_status(), http);
  EXPECT_EQ(error.code(), code);
  EXPECT_FALSE(error.message().empty());
}

TEST(Error, UnauthenticatedIs403RequestForbidden) {
  expect_error(Error::unauthenticated(), Status::kForbidden, 403, "UCS.01000004");
}

TEST(Error, ClusterForbiddenIs403RequestForbidden) {
  expect_error(Error::cluster_forbidden(), Status::kForbidden, 403, "UCS.01000004");
}

TEST(Error, ClusterForbiddenIsTheSameBodyEveryTime) {
  EXPECT_EQ(Error::cluster_forbidden().to_json(), Error::cluster_forbidden().to_json());
  EXPECT_EQ(Error::unauthenticated().to_json(), Error::unauthenticated().to_json());
}

TEST(Error, BadParameterIs400NamingTheParameterAndReason) {
  const Error error = Error::bad_parameter("vpcendpoint", "must be an IP address");
  expect_error(error, Status::kBadRequest, 400, "UCS.01000011");
  EXPECT_NE(error.message().find("vpcendpoint"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("must be an IP address"), std::string::npos) << error.message();
}

TEST(Error, CategoryNotSupportedIs400) {
  expect_error(Error::category_not_supported(), Status::kBadRequest, 400, "UCS.01030011");
}

TEST(Error, NotFoundIs404NamingWhat) {
  const Error error = Error::not_found("cluster");
  expect_error(error, Status::kNotFound, 404, "UCS.01000005");
  EXPECT_NE(error.message().find("cluster"), std::string::npos);
}

TEST(Error, AlreadyExistsIs409NamingWhat) {
  const Error error = Error::already_exists("a cluster with this name");
  expect_error(error, Status::kConflict, 409, "UCS.01000006");
  EXPECT_NE(error.message().find("a cluster with this name"), std::string::npos);
}

TEST(Error, StorageIs500) {
  const Error error = Error::storage("disk I/O error");
  expect_error(error, Status::kInternal, 500, "UCS.01000007");
  EXPECT_NE(error.message().find("disk I/O error"), std::string::npos);
}

TEST(Error, CertificatesIs500FailedToGetCerts) {
  const Error error = Error::certificates("key generation failed");
  expect_error(error, Status::kInternal, 500, "UCS.01020002");
  EXPECT_NE(error.message().find("key generation failed"), std::string::npos);
}

TEST(Error, NotConfiguredIs500NamingTheSetting) {
  const Error error = Error::not_configured("no public proxy endpoint is set");
  expect_error(error, Status::kInternal, 500, "UCS.01000009");
  EXPECT_NE(error.message().find("no public proxy endpoint is set"), std::string::npos) << error.message();
  EXPECT_NE(error.code(), error_code::kCertificateFailure);
}

TEST(Error, InternalIs500AndSaysNothingMore) {
  const Error error = Error::internal();
  expect_error(error, Status::kInternal, 500, "UCS.01000007");
  EXPECT_EQ(error.message(), "Internal error");
}

TEST(Error, InternalWithDetailIs500NamingIt) {
  const Error error = Error::internal("random source failed");
  expect_error(error, Status::kInternal, 500, "UCS.01000007");
  EXPECT_EQ(error.message(), "Internal error: random source failed");
  EXPECT_EQ(error.code(), Error::internal().code());
}

TEST(Error, RouteNotFoundIs404) {
  const Error error = Error::route_not_found();
  expect_error(error, Status::kNotFound, 404, "UCS.01000005");
  EXPECT_NE(error.message().find("no such API"), std::string::npos) << error.message();
}

TEST(Error, MethodNotAllowedIs405NamingTheMethod) {
  const Error error = Error::method_not_allowed("DELETE");
  expect_error(error, Status::kMethodNotAllowed, 405, "UCS.01000008");
  EXPECT_NE(error.message().find("DELETE"), std::string::npos) << error.message();
}

TEST(Error, MalformedRequestIs400) {
  const Error error = Error::malformed_request();
  expect_error(error, Status::kBadRequest, 400, "UCS.01000011");
  EXPECT_NE(error.message().find("not valid HTTP"), std::string::npos) << error.message();
}

TEST(Error, RequestHeadTooLargeIs431NamingWhich) {
  const Error error = Error::request_head_too_large("over 16384 bytes");
  expect_error(error, Status::kRequestHeaderFieldsTooLarge, 431, "UCS.01000010");
  EXPECT_NE(error.message().find("over 16384 bytes"), std::string::npos) << error.message();
}

TEST(Error, RequestAbandonedIs499ClientClosedRequest) {
  const Error error = Error::request_abandoned();
  expect_error(error, Status::kClientClosedRequest, 499, "UCS.01000012");
  EXPECT_NE(error.message().find("nothing was recorded"), std::string::npos) << error.message();
}

TEST(Error, CodesAreUcsFollowedByEightDigits) {
  for (const Error& error : {Error::unauthenticated(), Error::cluster_forbidden(), Error::bad_parameter("p", "r"),
                             Error::category_not_supported(), Error::not_found("x"), Error::already_exists("x"),
                             Error::storage("x"), Error::certificates("x"), Error::not_configured("x"),
                             Error::internal(), Error::internal("x"), Error::route_not_found(),
                             Error::method_not_allowed("x"), Error::malformed_request(),
                             Error::request_head_too_large("x"), Error::request_abandoned()}) {
    const std::string& code = error.code();
    ASSERT_EQ(code.size(), 12u) << code;
    EXPECT_EQ(code.substr(0, 4), "UCS.");
    for (const char c : code.substr(4)) EXPECT_TRUE(c >= '0' && c <= '9') << code;
  }
}

TEST(Error, ConstantsMatchTheDocumentedCodes) {
  EXPECT_EQ(error_code::kForbidden, "UCS.01000004");
  EXPECT_EQ(error_code::kBadParameter, "UCS.01000011");
  EXPECT_EQ(error_code::kCategoryNotSupported, "UCS.01030011");
  EXPECT_EQ(error_code::kCertificateFailure, "UCS.01020002");
  EXPECT_EQ(error_code::kNotFound, "UCS.01000005");
  EXPECT_EQ(error_code::kAlreadyExists, "UCS.01000006");
  EXPECT_EQ(error_code::kStorageFailure, "UCS.01000007");
  EXPECT_EQ(error_code::kMethodNotAllowed, "UCS.01000008");
  EXPECT_EQ(error_code::kNotConfigured, "UCS.01000009");
  EXPECT_EQ(error_code::kHeaderTooLarge, "UCS.01000010");
  EXPECT_EQ(error_code::kRequestAbandoned, "UCS.01000012");
}

TEST(Error, WhatIncludesTheCodeAndMessage) {
  const Error error = Error::bad_parameter("region", "is not known");
  const std::string what = error.what();
  EXPECT_NE(what.find("UCS.01000011"), std::string::npos) << what;
  EXPECT_NE(what.find(error.message()), std::string::npos) << what;
}

TEST(Error, IsARuntimeError) {
  try {
    throw Error::unauthenticated();
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("UCS.01000004"), std::string::npos);
  }
}

TEST(Error, ToJsonHasExactlyErrorCodeAndErrorMsg) {
  const Error error = Error::cluster_forbidden();
  const auto body = parse_json(error.to_json());
  ASSERT_TRUE(body.has_value()) << error.to_json();
  EXPECT_EQ(body->size(), 2u);
  EXPECT_EQ(body->at("error_code"), "UCS.01000004");
  EXPECT_EQ(body->at("error_msg"), error.message());
}

TEST(Error, ToJsonIsValidForEveryFactory) {
  for (const Error& error : {Error::unauthenticated(), Error::cluster_forbidden(),
                             Error::bad_parameter("clusterid", "must be a UUID"), Error::category_not_supported(),
                             Error::not_found("token"), Error::already_exists("cluster"),
                             Error::storage("database is locked (SQLite code 5)"),
                             Error::certificates("key generation failed"),
                             Error::not_configured("no public proxy endpoint is set (Registry::set_public_endpoint)"),
                             Error::internal(), Error::internal("a \"quoted\" detail"), Error::route_not_found(),
                             Error::method_not_allowed("BREW"), Error::malformed_request(),
                             Error::request_head_too_large("over 16384 bytes"), Error::request_abandoned()}) {
    const auto body = parse_json(error.to_json());
    ASSERT_TRUE(body.has_value()) << error.to_json();
    EXPECT_EQ(body->at("error_code"), error.code());
    EXPECT_EQ(body->at("error_msg"), error.message());
  }
}

TEST(Error, ToJsonEscapesQuoteAndBackslash) {
  const Error error(Status::kBadRequest, "UCS.01000011", R"(say "hi" to C:\path\ and \"x\")");
  const std::string json = error.to_json();
  const auto body = parse_json(json);
  ASSERT_TRUE(body.has_value()) << json;
  EXPECT_EQ(body->at("error_msg"), error.message());
  EXPECT_NE(json.find(R"(\"hi\")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"(C:\\path\\)"), std::string::npos) << json;
}

TEST(Error, ToJsonEscapesEveryControlCharacter) {
  std::string message = "controls:";
  for (int c = 0; c < 0x20; ++c) message += static_cast<char>(c);
  message += "end";
  const Error error(Status::kInternal, "UCS.01000007", message);
  const std::string json = error.to_json();
  for (const char c : json) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << json;
  }
  const auto body = parse_json(json);
  ASSERT_TRUE(body.has_value()) << json;
  EXPECT_EQ(body->at("error_msg"), message);
  EXPECT_NE(json.find("\\n"), std::string::npos);
  EXPECT_NE(json.find("\\t"), std::string::npos);
  EXPECT_NE(json.find("\\r"), std::string::npos);
  EXPECT_NE(json.find("\\u0000"), std::string::npos);
  EXPECT_NE(json.find("\\u001f"), std::string::npos);
}

TEST(Error, ToJsonKeepsUtf8AndDelAsTheyAre) {
  const std::string message = "caf\xc3\xa9 \xe2\x9c\x93 del\x7f";
  const Error error(Status::kBadRequest, "UCS.01000011", message);
  const auto body = parse_json(error.to_json());
  ASSERT_TRUE(body.has_value()) << error.to_json();
  EXPECT_EQ(body->at("error_msg"), message);
}

TEST(Error, ToJsonOfEmptyMessage) {
  const Error error(Status::kInternal, "UCS.01000007", "");
  const auto body = parse_json(error.to_json());
  ASSERT_TRUE(body.has_value()) << error.to_json();
  EXPECT_EQ(body->at("error_msg"), "");
}

TEST(Error, ConstructorKeepsStatusCodeAndMessage) {
  const Error error(Status::kConflict, "UCS.01000006", "taken");
  EXPECT_EQ(error.status(), Status::kConflict);
  EXPECT_EQ(error.http_status(), 409);
  EXPECT_EQ(error.code(), "UCS.01000006");
  EXPECT_EQ(error.message(), "taken");
}

TEST(Error, CopiesCarryEverything) {
  const Error original = Error::bad_parameter("region", "is unknown");
  const Error copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.status(), original.status());
  EXPECT_EQ(copy.code(), original.code());
  EXPECT_EQ(copy.message(), original.message());
  EXPECT_STREQ(copy.what(), original.what());
}

}  // namespace
}  // namespace clusteraccess
