// Fuzz target: signed requests (AK/SK) -- the Authorization parser, the
// canonical request and the verifier, through the Registry's rule 1.
//
// The input is a flags byte and five fields (fuzz_support.hpp): method, raw
// path, raw query, headers ("Name:value" lines), and the Authorization
// header's value, in which "<AK>" stands for the one live access key of a
// registry that grants its principal one cluster. With flag 1, the harness
// signs the request itself with that key's SK (SignedHeaders = the fifth
// field) over the canonical request the verifier builds; flag 2 gives the
// request a body hash.
//
// Properties, for every input:
//  - no crash, and judge_access_info answers only the one 403 of a bad token
//    (UCS.01000004, the bad-token body, a log detail that never holds the
//    claimed signature) or admits the first download: never a 500, never
//    another answer;
//  - a request the verifier prepares and the harness signed with the right
//    SK is admitted;
//  - whatever parse_authorization accepts has the AK's and the signature's form.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "clusteraccess/clusteraccess.hpp"
#include "fuzz_support.hpp"
#include "request_signature.hpp"

namespace {

namespace ca = clusteraccess;
namespace rs = clusteraccess::request_signature;

constexpr std::int64_t kNow = 1591583940;  // 20200608T023900Z
constexpr const char* kCluster = "6f1c7a52-3b0e-4d8a-9c41-2e7f5b8d9a10";

struct World {
  std::unique_ptr<ca::Registry> registry;
  ca::NewAccessKey key;
  std::string forbidden_body;
};

const World& world() {
  static const World made = [] {
    World w;
    ca::RegistryOptions options;
    options.clock = [] { return kNow; };
    w.registry = std::make_unique<ca::Registry>(":memory:", options);
    w.registry->set_public_endpoint("proxy.example.com", 443);
    ca::ClusterSpec spec;
    spec.name = "fuzz-cluster";
    spec.provider = "eks";
    spec.id = ca::ClusterId::parse(kCluster);
    const ca::ClusterId id = w.registry->register_cluster(spec);
    w.key = w.registry->create_access_key("alice", std::chrono::hours(1));
    w.registry->grant("alice", id);
    w.forbidden_body = ca::Error::unauthenticated().to_json();
    return w;
  }();
  return made;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  FUZZ_CHECK(EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const World& w = world();
  const auto fields = ca::fuzzing::split_fields(data, size, 5);

  // Whatever the parser accepts has the right form.
  if (const auto parsed = rs::parse_authorization(fields.values[4])) {
    FUZZ_CHECK(parsed->access_key.size() == 20);
    FUZZ_CHECK(parsed->signature.size() == 64);
    FUZZ_CHECK(!parsed->signed_headers.empty());
  }

  ca::SignedRequest request{fields.values[0], fields.values[1], fields.values[2], {}, std::nullopt};
  std::string_view lines = fields.values[3];
  while (!lines.empty()) {
    const std::size_t end = lines.find('\n');
    const std::string_view line = lines.substr(0, end);
    const std::size_t colon = line.find(':');
    request.headers.emplace_back(std::string(line.substr(0, colon)),
                                 colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1)));
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 1);
  }
  if (fields.flags & 2) request.body_sha256 = sha256_hex(fields.values[2]);

  bool must_admit = false;
  std::string claimed;
  if (fields.flags & 1) {
    // Sign it: the verifier's canonical request, the right SK.
    const std::string head = "SDK-HMAC-SHA256 Access=" + w.key.access_key + ", SignedHeaders=" +
                             fields.values[4] + ", Signature=";
    request.headers.emplace_back("Authorization", head + std::string(64, '0'));
    const auto prepared = rs::prepare(request, kNow);
    if (const auto* pending = std::get_if<rs::PendingSignature>(&prepared)) {
      FUZZ_CHECK(pending->string_count >= 1 && pending->string_count <= 2);
      // The signature is not part of what is signed: set in place, the
      // header parses as before.
      claimed = rs::signature_hex(w.key.secret_key, pending->string_to_sign(0));
      request.headers.back().second = head + claimed;
      must_admit = true;
    }
  } else {
    std::string value = fields.values[4];
    replace_all(value, "<AK>", w.key.access_key);
    if (const auto parsed = rs::parse_authorization(value)) claimed = std::string(parsed->signature);
    request.headers.emplace_back("Authorization", std::move(value));
  }

  ca::AccessRequest access{kCluster, std::nullopt, std::nullopt, std::nullopt};
  access.signature.emplace(std::move(request));
  const auto answer = w.registry->judge_access_info(access);
  if (const auto* error = std::get_if<ca::Error>(&answer)) {
    FUZZ_CHECK(!must_admit);
    FUZZ_CHECK(error->http_status() == 403);
    FUZZ_CHECK(error->to_json() == w.forbidden_body);
    FUZZ_CHECK(error->log_detail().rfind("signature: ", 0) == 0);
    FUZZ_CHECK(claimed.empty() || error->log_detail().find(claimed) == std::string::npos);
  } else {
    FUZZ_CHECK(std::holds_alternative<ca::FirstDownloadAdmitted>(answer));
    FUZZ_CHECK(std::get<ca::FirstDownloadAdmitted>(answer).principal == "alice");
  }
  return 0;
}
