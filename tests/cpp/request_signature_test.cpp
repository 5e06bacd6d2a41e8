// The SDK-HMAC-SHA256 verifier (core/src/request_signature.hpp) against the
// official test vectors of the cloud's SDKs and signing guide, the
// canonicalisation rules of huaweicloudsdkcore's signer, the date window and
// every malformed Authorization header; and a signed accessinfo through the
// Registry (docs/contract.md, AK/SK).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cctype>
#include <string>
#include <variant>

#include "clusteraccess/clusteraccess.hpp"
#include "request_signature.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

namespace rs = request_signature;
using testing::ManualClock;

constexpr const char* kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// An AK of the registry's form, standing in for the vectors' "AccessKey" (the
// AK is not part of what is signed, so the signature is the same).
constexpr const char* kAk = "AKTEST0123456789ABCD";

std::string sha256_of(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

std::string authorization(const std::string& ak, const std::string& signed_headers, const std::string& signature) {
  return "SDK-HMAC-SHA256 Access=" + ak + ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
}

// The signature the verifier's own canonicalisation makes for `request`
// signed over `signed_headers` with `sk`.
std::string computed_signature(const SignedRequest& request, const std::string& signed_headers,
                               const std::string& payload_hash, const std::string& sk) {
  SignedRequest with_header = request;
  with_header.headers.emplace_back("Authorization", authorization(kAk, signed_headers, std::string(64, '0')));
  const auto parsed = rs::parse_authorization(with_header.headers.back().second);
  EXPECT_TRUE(parsed);
  const auto canonical = rs::canonical_request(with_header, *parsed, payload_hash);
  EXPECT_TRUE(canonical);
  std::string date;
  for (const auto& [name, value] : request.headers) {
    if (name == "X-Sdk-Date") date = value;
  }
  return rs::signature_hex(sk, "SDK-HMAC-SHA256\n" + date + "\n" + sha256_of(*canonical));
}

// Whether the verifier accepts `request` with `authorization_value` at `now`.
bool accepted(SignedRequest request, const std::string& authorization_value, std::int64_t now,
              const std::string& sk) {
  request.headers.emplace_back("Authorization", authorization_value);
  const auto prepared = rs::prepare(request, now);
  const auto* pending = std::get_if<rs::PendingSignature>(&prepared);
  return pending != nullptr && rs::signature_matches(*pending, sk);
}

// --- official vectors ---------------------------------------------------------

// huaweicloud-sdk-python-v3, huaweicloud-sdk-core/tests/test_signer.py: the
// GET and POST fixtures (BasicCredentials("AccessKey", "SecretKey", ...);
// host service.endpoint.myhuaweicloud.com; TEST_UNDERSCORE is never signed).
SignedRequest python_fixture(const char* method) {
  return SignedRequest{method,
                       "/resources",
                       "size=1",
                       {{"Host", "service.endpoint.myhuaweicloud.com"},
                        {"X-Sdk-Date", "20200608T023900Z"},
                        {"TEST_UNDERSCORE", "TEST_VALUE"}},
                       std::nullopt};
}
constexpr std::int64_t kPythonFixtureTime = 1591583940;  // 20200608T023900Z

TEST(RequestSignatureVectors, PythonSdkTestSigner1Get) {
  const SignedRequest request = python_fixture("GET");
  const std::string signature = computed_signature(request, "host;x-sdk-date", kEmptyHash, "SecretKey");
  EXPECT_EQ(authorization("AccessKey", "host;x-sdk-date", signature),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
            "Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842");
  EXPECT_TRUE(accepted(request, authorization(kAk, "host;x-sdk-date", signature), kPythonFixtureTime, "SecretKey"));
}

TEST(RequestSignatureVectors, PythonSdkTestSigner2Post) {
  SignedRequest request = python_fixture("POST");
  // sha256 of the body {"name":"test","id":1}
  request.body_sha256 = "8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c";
  const std::string signature = computed_signature(request, "host;x-sdk-date", *request.body_sha256, "SecretKey");
  EXPECT_EQ(authorization("AccessKey", "host;x-sdk-date", signature),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
            "Signature=436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f");
  EXPECT_TRUE(accepted(request, authorization(kAk, "host;x-sdk-date", signature), kPythonFixtureTime, "SecretKey"));
}

// huaweicloud-sdk-go-v3, core/auth/signer/signer_test.go (TestSigner_Sign):
// the Go signer signs neither host nor content-type.
constexpr std::int64_t kGoFixtureTime = 1136214245;  // 20060102T150405Z

TEST(RequestSignatureVectors, GoSdkTestSignerSignTest1) {
  const SignedRequest request{"GET",
                              "/path",
                              "limit=1",
                              {{"Host", "example.huaweicloud.com"},
                               {"X-Sdk-Date", "20060102T150405Z"},
                               {"TEST_UNDERSCORE", "TEST_VALUE"}},
                              std::nullopt};
  const std::string signature = computed_signature(request, "x-sdk-date", kEmptyHash, "SecretKey");
  EXPECT_EQ(authorization("AccessKey", "x-sdk-date", signature),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, "
            "Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624");
  EXPECT_TRUE(accepted(request, authorization(kAk, "x-sdk-date", signature), kGoFixtureTime, "SecretKey"));
}

TEST(RequestSignatureVectors, GoSdkTestSignerSignTest2) {
  const SignedRequest request{"POST",
                              "/path",
                              "key=value",
                              {{"Host", "example.huaweicloud.com"},
                               {"X-Sdk-Date", "20060102T150405Z"},
                               {"TEST_UNDERSCORE", "TEST_VALUE"},
                               {"Content-Type", "application/json"}},
                              // sha256 of {"Name":"test","Id":1}\n (json.Encoder's trailing newline)
                              "a29d7b4c5efd1a22011d69fd7b7aee76fe51e4083c609244228de258afd61289"};
  const std::string signature = computed_signature(request, "x-sdk-date", *request.body_sha256, "SecretKey");
  EXPECT_EQ(authorization("AccessKey", "x-sdk-date", signature),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, "
            "Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59");
  EXPECT_TRUE(accepted(request, authorization(kAk, "x-sdk-date", signature), kGoFixtureTime, "SecretKey"));
}

// The API Request Signing Guide's worked example (support.huaweicloud.com,
// devg-apisign, "constructing the canonical request" / "computing the
// signature"), whose AK has the registry's form: its Authorization header is
// verified as published.
TEST(RequestSignatureVectors, SigningGuideWorkedExample) {
  const SignedRequest request{"GET",
                              "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
                              "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
                              {{"Host", "service.region.example.com"},
                               {"X-Sdk-Date", "20191115T033655Z"},
                               {"Content-Type", "application/json"}},
                              std::nullopt};
  const std::string published =
      "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
      "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe";
  const auto parsed = rs::parse_authorization(published);
  ASSERT_TRUE(parsed);
  const auto canonical = rs::canonical_request(request, *parsed, kEmptyHash);
  ASSERT_TRUE(canonical);
  EXPECT_EQ(sha256_of(*canonical), "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a");
  EXPECT_EQ(authorization("QTWAOYTTINDUT2QVKYUC", "content-type;host;x-sdk-date",
                          computed_signature(request, "content-type;host;x-sdk-date", kEmptyHash,
                                             "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc")),
            published);
  EXPECT_TRUE(accepted(request, published, 1573789015, "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"));
  EXPECT_FALSE(accepted(request, published, 1573789015, "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHd"));
}

// test_signer.py test_process_canonical_query_string and Go's
// TestSigner_canonicalQueryString: [("limit",1),("enable",True),
// ("test","一 (&=?!#%.*)"),("path","/tmp/123"),("multi",[1,2,3])]. The
// server sees it on the wire, in any order and encoding.
TEST(RequestSignatureVectors, SdkCanonicalQueryString) {
  const std::string expected =
      "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29";
  EXPECT_EQ(rs::canonical_query(expected), expected);
  EXPECT_EQ(rs::canonical_query("test=\xE4\xB8\x80%20(%26%3D%3F!%23%25.*)&multi=3&path=/tmp/123&multi=1&limit=1&"
                                "enable=true&multi=2"),
            expected);
}

// --- canonicalisation (expected values from Python's quote/unquote, as the
// signer uses them) ---------------------------------------------------------

TEST(RequestSignatureCanonical, UriSegmentsAreDecodedAndReEncoded) {
  EXPECT_EQ(rs::canonical_uri("/v1/clusters/a%20b%2Fc%25d~%C3%A9"), "/v1/clusters/a%20b/c%25d~%C3%A9/");
  EXPECT_EQ(rs::canonical_uri("/v1/clusters/"), "/v1/clusters/");
  EXPECT_EQ(rs::canonical_uri("/"), "/");
  EXPECT_EQ(rs::canonical_uri("/a//b"), "/a//b/");
  EXPECT_EQ(rs::canonical_uri("/v1/x y/(a)!*'"), "/v1/x%20y/%28a%29%21%2A%27/");
  EXPECT_EQ(rs::canonical_uri("/v1/%c3%a9"), "/v1/%C3%A9/") << "hex digits in upper case";
  // A stray "%" stays; invalid UTF-8 becomes U+FFFD, one per maximal subpart.
  EXPECT_EQ(rs::canonical_uri("/a%zz/%FF%41/%E2%82"), "/a%25zz/%EF%BF%BDA/%EF%BF%BD/");
}

TEST(RequestSignatureCanonical, QueryPairsAreSortedWithRepeatedKeysAndEmptyValues) {
  EXPECT_EQ(rs::canonical_query("b=2&a=1&a=0&a=10"), "a=0&a=1&a=10&b=2");
  EXPECT_EQ(rs::canonical_query("empty=&flag&x="), "empty=&flag=&x=");
  EXPECT_EQ(rs::canonical_query("a+b=c+d&%7e=~"), "a%2Bb=c%2Bd&~=~") << "+ is not a space";
  EXPECT_EQ(rs::canonical_query("&&z=1&&"), "z=1");
  EXPECT_EQ(rs::canonical_query("dup=b&dup=a&dup=a"), "dup=a&dup=a&dup=b");
  EXPECT_EQ(rs::canonical_query("A=1&a=1&_=1&-=1"), "-=1&A=1&_=1&a=1");
  EXPECT_EQ(rs::canonical_query(""), "");
}

TEST(RequestSignatureCanonical, HeaderValuesAreTrimmedNotCollapsed) {
  const SignedRequest request{"get", "/p", "", {{"X-Custom", " \t spaced  value \t"}, {"X-Sdk-Date", "20200608T023900Z"}},
                              std::nullopt};
  const std::string header = authorization(kAk, "x-custom;x-sdk-date", std::string(64, 'a'));
  const auto parsed = rs::parse_authorization(header);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*rs::canonical_request(request, *parsed, kEmptyHash),
            std::string("GET\n/p/\n\nx-custom:spaced  value\nx-sdk-date:20200608T023900Z\n\n"
                        "x-custom;x-sdk-date\n") + kEmptyHash);
}

TEST(RequestSignatureCanonical, AHeaderSignedTwiceIsListedTwice) {
  // huaweicloudsdkcore signs `content-type;content-type;...` when its header
  // dict holds two spellings; the wire carries one.
  const SignedRequest request{"POST", "/v1/clusters", "", {{"content-type", "application/json"}, {"X-Sdk-Date", "20200608T023900Z"}},
                              std::nullopt};
  const std::string header = authorization(kAk, "content-type;content-type;x-sdk-date", std::string(64, 'a'));
  const auto parsed = rs::parse_authorization(header);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*rs::canonical_request(request, *parsed, "UNSIGNED-PAYLOAD"),
            "POST\n/v1/clusters/\n\ncontent-type:application/json\ncontent-type:application/json\n"
            "x-sdk-date:20200608T023900Z\n\ncontent-type;content-type;x-sdk-date\nUNSIGNED-PAYLOAD");
}

TEST(RequestSignatureCanonical, PayloadHashFollowsTheSdkContentHeader) {
  SignedRequest request = python_fixture("POST");
  request.headers.emplace_back("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD");
  request.body_sha256 = std::string(64, 'b');
  const std::string unsigned_payload =
      computed_signature(request, "host;x-sdk-content-sha256;x-sdk-date", "UNSIGNED-PAYLOAD", "SecretKey");
  EXPECT_TRUE(accepted(request, authorization(kAk, "host;x-sdk-content-sha256;x-sdk-date", unsigned_payload),
                       kPythonFixtureTime, "SecretKey"));
  // Without a body, the Python signer hashes the empty body and the Go
  // signer takes the header: both verify.
  request.body_sha256.reset();
  for (const char* payload : {kEmptyHash, "UNSIGNED-PAYLOAD"}) {
    const std::string signature =
        computed_signature(request, "host;x-sdk-content-sha256;x-sdk-date", payload, "SecretKey");
    EXPECT_TRUE(accepted(request, authorization(kAk, "host;x-sdk-content-sha256;x-sdk-date", signature),
                         kPythonFixtureTime, "SecretKey"))
        << payload;
  }
  // A body whose hash is not what was signed is refused.
  SignedRequest post = python_fixture("POST");
  post.body_sha256 = "8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c";
  const std::string signature = computed_signature(post, "host;x-sdk-date", *post.body_sha256, "SecretKey");
  post.body_sha256 = std::string(64, 'c');
  EXPECT_FALSE(accepted(post, authorization(kAk, "host;x-sdk-date", signature), kPythonFixtureTime, "SecretKey"));
}

// --- the date window ------------------------------------------------------------

TEST(RequestSignatureDate, FifteenMinutesEitherWay) {
  const SignedRequest request = python_fixture("GET");
  const std::string header =
      authorization(kAk, "host;x-sdk-date", computed_signature(request, "host;x-sdk-date", kEmptyHash, "SecretKey"));
  for (const std::int64_t skew : {0, 899, -899, 900, -900}) {  // up to 14:59, and 15:00 itself
    EXPECT_TRUE(accepted(request, header, kPythonFixtureTime + skew, "SecretKey")) << skew;
  }
  for (const std::int64_t skew : {901, -901, 3600, -86400}) {  // from 15:01 on
    SignedRequest copy = request;
    copy.headers.emplace_back("Authorization", header);
    const auto prepared = rs::prepare(copy, kPythonFixtureTime + skew);
    ASSERT_TRUE(std::holds_alternative<SignatureRefusal>(prepared)) << skew;
    EXPECT_EQ(std::get<SignatureRefusal>(prepared), SignatureRefusal::kStaleDate) << skew;
  }
}

SignatureRefusal refusal_of(const SignedRequest& request, std::int64_t now = kPythonFixtureTime) {
  const auto prepared = rs::prepare(request, now);
  EXPECT_TRUE(std::holds_alternative<SignatureRefusal>(prepared));
  return std::holds_alternative<SignatureRefusal>(prepared) ? std::get<SignatureRefusal>(prepared)
                                                             : SignatureRefusal::kSignatureMismatch;
}

TEST(RequestSignatureDate, MissingMalformedOrUnsignedDatesAreRefused) {
  const std::string header = authorization(kAk, "host;x-sdk-date", std::string(64, 'a'));
  for (const char* date : {"", "20200608T023900", "2020-06-08T02:39:00Z", "20200608T023900z", "20200608 023900Z",
                           "20201308T023900Z", "20200230T023900Z", "20200608T243900Z", "20200608T026000Z",
                           "2020068T023900Z", "20200608T0239000Z", "+0200608T023900Z"}) {
    SignedRequest request = python_fixture("GET");
    request.headers[1].second = date;
    request.headers.emplace_back("Authorization", header);
    EXPECT_EQ(refusal_of(request), SignatureRefusal::kMalformedDate) << date;
  }
  SignedRequest missing{"GET", "/resources", "", {{"Host", "h"}, {"Authorization", header}}, std::nullopt};
  EXPECT_EQ(refusal_of(missing), SignatureRefusal::kMalformedDate);
  SignedRequest twice = python_fixture("GET");
  twice.headers.emplace_back("x-sdk-date", "20200608T023900Z");
  twice.headers.emplace_back("Authorization", header);
  EXPECT_EQ(refusal_of(twice), SignatureRefusal::kMalformedDate);
  SignedRequest unsigned_date = python_fixture("GET");
  unsigned_date.headers.emplace_back("Authorization", authorization(kAk, "host", std::string(64, 'a')));
  EXPECT_EQ(refusal_of(unsigned_date), SignatureRefusal::kDateNotSigned);
}

// --- malformed Authorization headers ----------------------------------------------

TEST(RequestSignatureAuthorization, EveryMalformedHeaderIsRefused) {
  const std::string sig(64, 'a');
  const std::string ok = authorization(kAk, "host;x-sdk-date", sig);
  ASSERT_TRUE(rs::parse_authorization(ok));
  const std::string cases[] = {
      "",
      "SDK-HMAC-SHA256",
      "SDK-HMAC-SHA256 ",
      "SDK-HMAC-SM3 Access=" + std::string(kAk) + ", SignedHeaders=host;x-sdk-date, Signature=" + sig,
      "sdk-hmac-sha256 Access=" + std::string(kAk) + ", SignedHeaders=host;x-sdk-date, Signature=" + sig,
      "V11-HMAC-SHA256 Credential=" + std::string(kAk) + "/20200608/r/s, SignedHeaders=x-sdk-date, Signature=" + sig,
      "SDK-HMAC-SHA256  Access=" + std::string(kAk) + ", SignedHeaders=host;x-sdk-date, Signature=" + sig,
      "SDK-HMAC-SHA256 Access=" + std::string(kAk) + ",SignedHeaders=host;x-sdk-date, Signature=" + sig,
      "SDK-HMAC-SHA256 Access=" + std::string(kAk) + ", SignedHeaders=host;x-sdk-date",  // no signature
      "SDK-HMAC-SHA256 SignedHeaders=host;x-sdk-date, Signature=" + sig,                 // no access
      "SDK-HMAC-SHA256 Access=" + std::string(kAk) + ", Signature=" + sig,               // no signed headers
      ok + ", Signature=" + sig,                                                          // duplicate part
      "SDK-HMAC-SHA256 Access=" + std::string(kAk) + ", Access=" + kAk + ", SignedHeaders=x-sdk-date, Signature=" + sig,
      ok + ", Extra=1",                                                                   // unknown part
      ok + ", ",
      ok + " ",
      authorization("AccessKey", "host;x-sdk-date", sig),                                 // not an AK
      authorization("AKTEST0123456789ABCDE", "host;x-sdk-date", sig),                     // 21 characters
      authorization("aktest0123456789abcd", "host;x-sdk-date", sig),                      // lower case
      authorization(kAk, "host;x-sdk-date", std::string(63, 'a')),                        // short
      authorization(kAk, "host;x-sdk-date", std::string(65, 'a')),                        // long
      authorization(kAk, "host;x-sdk-date", std::string(64, 'A')),                        // upper-case hex
      authorization(kAk, "host;x-sdk-date", std::string(63, 'a') + "g"),                  // not hex
      authorization(kAk, "", sig),
      authorization(kAk, "host;;x-sdk-date", sig),
      authorization(kAk, "Host;x-sdk-date", sig),
      authorization(kAk, "host x;x-sdk-date", sig),
      authorization(kAk, std::string(65, 'h') + ";x-sdk-date", sig),                      // overlong name
      authorization(kAk, [] {
        std::string many;
        for (int i = 0; i < 65; ++i) many += "h" + std::to_string(i) + ";";
        return many + "x-sdk-date";
      }(), sig),                                                                          // too many names
      ok + std::string(2048, ' '),                                                        // overlong header
  };
  for (const std::string& value : cases) {
    EXPECT_FALSE(rs::parse_authorization(value)) << value.substr(0, 120);
    SignedRequest request = python_fixture("GET");
    request.headers.emplace_back("Authorization", value);
    EXPECT_EQ(refusal_of(request), SignatureRefusal::kMalformedAuthorization) << value.substr(0, 120);
  }
  // The parts in another order are the same header.
  EXPECT_TRUE(rs::parse_authorization("SDK-HMAC-SHA256 Signature=" + sig + ", Access=" + kAk +
                                      ", SignedHeaders=x-sdk-date"));
  // No Authorization header, or two.
  EXPECT_EQ(refusal_of(python_fixture("GET")), SignatureRefusal::kMalformedAuthorization);
  SignedRequest two = python_fixture("GET");
  two.headers.emplace_back("Authorization", ok);
  two.headers.emplace_back("authorization", ok);
  EXPECT_EQ(refusal_of(two), SignatureRefusal::kMalformedAuthorization);
}

TEST(RequestSignatureAuthorization, MissingOrRepeatedSignedHeadersAndBadBodyHashesAreRefused) {
  const std::string header = authorization(kAk, "host;x-custom;x-sdk-date", std::string(64, 'a'));
  SignedRequest missing = python_fixture("GET");
  missing.headers.emplace_back("Authorization", header);
  EXPECT_EQ(refusal_of(missing), SignatureRefusal::kMalformedRequest);
  SignedRequest repeated = python_fixture("GET");
  repeated.headers.emplace_back("X-Custom", "1");
  repeated.headers.emplace_back("x-custom", "2");
  repeated.headers.emplace_back("Authorization", header);
  EXPECT_EQ(refusal_of(repeated), SignatureRefusal::kMalformedRequest);
  for (const char* hash : {"", "UNSIGNED-PAYLOAD", "8ED555081B9961769014BC1182C629BB0FE68D7B01C1FC1CAAB4DC791F377E8C"}) {
    SignedRequest request = python_fixture("POST");
    request.body_sha256 = hash;
    request.headers.emplace_back("Authorization", authorization(kAk, "host;x-sdk-date", std::string(64, 'a')));
    EXPECT_EQ(refusal_of(request), SignatureRefusal::kMalformedRequest) << hash;
  }
}

// --- through the Registry ------------------------------------------------------------

// A client's signer, written from the algorithm for the cases at hand (a
// path of unreserved characters, no query): method, path + "/", the query,
// the signed headers lowercased and trimmed, the payload hash.
void sign(SignedRequest& request, const NewAccessKey& key, const std::string& date) {
  request.headers.emplace_back("X-Sdk-Date", date);
  std::string canonical = request.method + "\n" + request.raw_path + "/\n" + request.raw_query + "\n";
  canonical += "host:" + request.headers[0].second + "\nx-sdk-date:" + date + "\n\nhost;x-sdk-date\n" + kEmptyHash;
  const std::string signature =
      rs::signature_hex(key.secret_key, "SDK-HMAC-SHA256\n" + date + "\n" + sha256_of(canonical));
  request.headers.emplace_back("Authorization", authorization(key.access_key, "host;x-sdk-date", signature));
}

TEST(SignedAccessInfo, AGrantedPrincipalsSignedRequestIsAnsweredAndTamperingIsTheOneForbidden) {
  ManualClock clock(kPythonFixtureTime);
  RegistryOptions options;
  options.clock = clock.function();
  Registry registry(":memory:", options);
  registry.set_public_endpoint("proxy.example.com", 443);
  ClusterSpec spec;
  spec.name = "prod";
  spec.provider = "eks";
  const ClusterId id = registry.register_cluster(spec);
  const NewAccessKey key = registry.create_access_key("alice", std::chrono::hours(1));
  EXPECT_EQ(key.access_key.size(), 20u);
  EXPECT_EQ(key.secret_key.size(), 40u);
  registry.grant("alice", id);

  const std::string path = "/v1/clusters/" + id.str() + "/accessinfo";
  SignedRequest good{"GET", path, "", {{"Host", "ucs.example.com"}}, std::nullopt};
  sign(good, key, "20200608T023900Z");
  AccessRequest request{id.str(), std::nullopt, std::nullopt, std::nullopt};
  request.signature = good;
  const AccessInfo first = registry.access_info(request);
  EXPECT_TRUE(first.is_first_download());
  EXPECT_EQ(first.principal, "alice");
  EXPECT_EQ(registry.access_info(request).documents, std::vector<std::string>{kDownloaded});

  // The cluster API takes the same signature.
  EXPECT_EQ(registry.list_clusters(Credentials{std::nullopt, good}).total, 1);

  const std::string forbidden = Error::unauthenticated().to_json();
  const auto refused = [&](const SignedRequest& signed_request, const std::string& why) {
    AccessRequest tampered{id.str(), std::nullopt, std::nullopt, std::nullopt};
    tampered.signature = signed_request;
    const auto answer = registry.try_access_info(tampered);
    ASSERT_TRUE(std::holds_alternative<Error>(answer)) << why;
    const Error& error = std::get<Error>(answer);
    EXPECT_EQ(error.http_status(), 403) << why;
    EXPECT_EQ(error.to_json(), forbidden) << why;
    EXPECT_EQ(error.log_detail().find(good.headers.back().second.substr(good.headers.back().second.size() - 64)),
              std::string::npos)
        << "the log detail never holds the signature";
    EXPECT_FALSE(error.log_detail().empty()) << why;
  };
  SignedRequest method = good;
  method.method = "DELETE";
  refused(method, "method");
  SignedRequest other_path = good;
  other_path.raw_path = "/v1/clusters/" + id.str();
  refused(other_path, "path");
  SignedRequest query = good;
  query.raw_query = "region=eu";
  refused(query, "query");
  SignedRequest host = good;
  host.headers[0].second = "evil.example.com";
  refused(host, "signed header");
  SignedRequest body = good;
  body.body_sha256 = std::string(64, 'd');
  refused(body, "body");
  SignedRequest signature = good;
  signature.headers.back().second.back() = signature.headers.back().second.back() == '0' ? '1' : '0';
  refused(signature, "signature");
  SignedRequest unknown = good;
  const std::string& ak = key.access_key;
  const std::string other_ak = (ak[0] == 'A' ? "B" : "A") + ak.substr(1);
  unknown.headers.back().second.replace(unknown.headers.back().second.find(ak), ak.size(), other_ak);
  refused(unknown, "unknown AK");

  clock.advance(901);
  refused(good, "stale date");
  clock.set(kPythonFixtureTime + 3600);
  SignedRequest later{"GET", path, "", {{"Host", "ucs.example.com"}}, std::nullopt};
  sign(later, key, "20200608T033900Z");
  refused(later, "expired key");
  clock.set(kPythonFixtureTime);
  registry.revoke_access_key(key.access_key);
  refused(good, "revoked key");
  EXPECT_TRUE(registry.access_keys().at(0).revoked_at.has_value());
}

TEST(SignedAccessInfo, ALiveTokenIsEnoughWhateverTheSignature) {
  Registry registry(":memory:");
  registry.set_public_endpoint("proxy.example.com", 443);
  ClusterSpec spec;
  spec.name = "prod";
  spec.provider = "eks";
  const ClusterId id = registry.register_cluster(spec);
  const std::string token = registry.create_token("alice", std::chrono::hours(1));
  registry.grant("alice", id);
  AccessRequest request{id.str(), token, std::nullopt, std::nullopt};
  request.signature = SignedRequest{"GET", "/", "", {{"Authorization", "garbage"}}, std::nullopt};
  EXPECT_TRUE(registry.access_info(request).is_first_download());
  // A bad token with a bad signature: the signature decides, with its reason.
  request.token = "cat_not-a-token";
  const auto answer = registry.try_access_info(request);
  ASSERT_TRUE(std::holds_alternative<Error>(answer));
  EXPECT_EQ(std::get<Error>(answer).to_json(), Error::unauthenticated().to_json());
  EXPECT_EQ(std::get<Error>(answer).log_detail(), "signature: malformed Authorization header");
}

TEST(AccessKeys, CreateListRevoke) {
  ManualClock clock;
  RegistryOptions options;
  options.clock = clock.function();
  Registry registry(":memory:", options);
  const NewAccessKey a = registry.create_access_key("alice", std::chrono::seconds(60));
  const NewAccessKey b = registry.create_access_key("bob", std::chrono::seconds(120));
  EXPECT_NE(a.access_key, b.access_key);
  EXPECT_NE(a.secret_key, b.secret_key);
  for (const char c : a.access_key) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  for (const char c : a.secret_key) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
  EXPECT_EQ(a.created_at, clock.now());
  EXPECT_EQ(a.expires_at, clock.now() + 60);
  const auto keys = registry.access_keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].principal == "alice" ? keys[0].access_key : keys[1].access_key, a.access_key);
  registry.revoke_access_key(a.access_key);
  registry.revoke_access_key(a.access_key);  // harmless, keeps the first time
  EXPECT_EQ(testing::error_of([&] { registry.revoke_access_key("AAAAAAAAAAAAAAAAAAAA"); }).http_status(), 404);
  EXPECT_EQ(testing::error_of([&] { registry.revoke_access_key("not an ak"); }).http_status(), 404);
  EXPECT_EQ(testing::error_of([&] { registry.create_access_key("alice", std::chrono::seconds(0)); }).http_status(), 400);
  EXPECT_EQ(testing::error_of([&] { registry.create_access_key("", std::chrono::seconds(1)); }).http_status(), 400);
}

// The opened SKs are cached (access_keys.hpp): a key verified a moment ago
// is refused as soon as it is revoked, and more keys than the cache holds
// all keep verifying (an evicted SK is opened again).
TEST(SignedAccessInfo, CachedSecretsNeverOutliveRevocationAndEvictionOnlyCostsAnOpening) {
  ManualClock clock(kPythonFixtureTime);
  RegistryOptions options;
  options.clock = clock.function();
  Registry registry(":memory:", options);
  const auto listed = [&](const NewAccessKey& key) {
    SignedRequest request{"GET", "/v1/clusters", "", {{"Host", "ucs.example.com"}}, std::nullopt};
    sign(request, key, "20200608T023900Z");
    try {
      registry.list_clusters(Credentials{std::nullopt, request});
      return std::string("listed");
    } catch (const Error& error) {
      return error.log_detail();
    }
  };
  std::vector<NewAccessKey> keys;
  for (std::size_t i = 0; i < 300; ++i) keys.push_back(registry.create_access_key("alice", std::chrono::hours(1)));
  for (const NewAccessKey& key : keys) ASSERT_EQ(listed(key), "listed");
  for (const NewAccessKey& key : keys) ASSERT_EQ(listed(key), "listed");

  const NewAccessKey& revoked = keys.back();
  ASSERT_EQ(listed(revoked), "listed");  // its SK is cached now
  registry.revoke_access_key(revoked.access_key);
  EXPECT_EQ(listed(revoked), "signature: revoked access key (access key " + revoked.access_key + ")");
  EXPECT_EQ(listed(keys.front()), "listed");
}

}  // namespace
}  // namespace clusteraccess
