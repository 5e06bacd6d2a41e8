// Fuzz target: the whole request path of GET /v1/clusters/{clusterid}/accessinfo.
//
// The input is a flags byte and four fields (see fuzz_support.hpp): cluster
// id, X-Auth-Token, vpcendpoint, region. The flags say which optional fields
// are given and may swap a field for a known-good value, so that the fuzzer
// reaches every rule and the issuing of a key from the start:
//   bit 0: token given          bits 3-5: cluster id: 0 the field, 1 public,
//   bit 1: vpcendpoint given              2 private, 3 CCE, 4 not granted,
//   bit 2: region given                   5 the field appended to a known id
//   bit 6: token: the live one (else the field; bit 7: the expired one)
// The registry is a file in a private temporary directory made once per
// process, with a known live token, an expired one, and clusters of every
// kind. After a first download the cluster is reset through SQL, so that
// issuing stays reachable.
//
// Properties: no crash or sanitizer report; every Error is a 400 or a 403
// (never a 500 or another status) with the code that goes with it and a
// well-formed JSON body and one of a few fixed messages (so it never
// echoes the request); a success is either
// the manifest (one Kubernetes object per document, the canonical
// vpcendpoint for a private cluster) or exactly ["Downloaded"].
#include <openssl/sha.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "fuzz_support.hpp"
#include "ip_address.hpp"

namespace {

namespace ca = clusteraccess;

// Known values; the seed corpus and fuzz/access_info.dict use them too.
constexpr const char* kLiveToken = "cat_fuzzLiveTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr const char* kExpiredToken = "cat_fuzzExpiredTokenBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
constexpr const char* kPublicId = "6f1c7a52-3b0e-4d8a-9c41-2e7f5b8d9a10";
constexpr const char* kPrivateId = "0a2b4c6d-8e0f-4a1b-8c3d-5e7f9a1b3c5d";
constexpr const char* kCceId = "c0ffee00-1234-4abc-9def-0123456789ab";
constexpr const char* kNotGrantedId = "deadbeef-0000-4000-8000-000000000001";

void sql(sqlite3* db, const char* statement, const std::vector<std::string>& blobs = {}) {
  sqlite3_stmt* prepared = nullptr;
  FUZZ_CHECK(sqlite3_prepare_v2(db, statement, -1, &prepared, nullptr) == SQLITE_OK);
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    sqlite3_bind_blob(prepared, static_cast<int>(i + 1), blobs[i].data(), static_cast<int>(blobs[i].size()),
                      SQLITE_TRANSIENT);
  }
  FUZZ_CHECK(sqlite3_step(prepared) == SQLITE_DONE);
  sqlite3_finalize(prepared);
}

std::string sha256(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string id_bytes(const char* id) {
  const auto bytes = ca::ClusterId::parse(id).bytes();
  return std::string(bytes.begin(), bytes.end());
}

class Environment {
 public:
  Environment() {
    std::string pattern = (std::filesystem::temp_directory_path() / "clusteraccess-fuzz-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    path_ = (dir_ / "registry.db").string();
    registry_ = std::make_unique<ca::Registry>(path_);
    registry_->set_public_endpoint("proxy.example.com", 30123);
    registry_->add_region("eu-de", "proxy.eu-de.example.com", 30124);
    registry_->add_region("cn-north-4", "10.0.0.1", 443);
    add_cluster(kPublicId, "fuzz-public", ca::ClusterCategory::kAttached, "eks", ca::AccessNetwork::kPublic);
    add_cluster(kPrivateId, "fuzz-private", ca::ClusterCategory::kAttached, "aks", ca::AccessNetwork::kPrivate);
    add_cluster(kCceId, "fuzz-cce", ca::ClusterCategory::kCce, "cce", ca::AccessNetwork::kPublic);
    add_cluster(kNotGrantedId, "fuzz-other", ca::ClusterCategory::kAttached, "gke", ca::AccessNetwork::kPublic);
    for (const char* id : {kPublicId, kPrivateId, kCceId}) registry_->grant("fuzzer", ca::ClusterId::parse(id));
    // Tokens with known text: only their hashes go into the table, as
    // create_token would store them.
    FUZZ_CHECK(sqlite3_open(path_.c_str(), &db_) == SQLITE_OK);
    sql(db_, "INSERT INTO tokens (hash, principal, created_at, expires_at) VALUES (?1, 'fuzzer', 0, 4102444800)",
        {sha256(kLiveToken)});
    sql(db_, "INSERT INTO tokens (hash, principal, created_at, expires_at) VALUES (?1, 'fuzzer', 0, 1)",
        {sha256(kExpiredToken)});
  }

  ~Environment() {
    registry_.reset();
    sqlite3_close(db_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  ca::Registry& registry() { return *registry_; }

  // Makes `id` downloadable again.
  void reset(const std::string& id) {
    const std::string bytes = id_bytes(id.c_str());
    sql(db_, "DELETE FROM downloads WHERE cluster_id = ?1", {bytes});
    sql(db_, "UPDATE clusters SET downloaded_at = NULL, certificate_serial = NULL WHERE id = ?1", {bytes});
  }

 private:
  void add_cluster(const char* id, const char* name, ca::ClusterCategory category, const char* provider,
                   ca::AccessNetwork network) {
    ca::ClusterSpec spec;
    spec.id = ca::ClusterId::parse(id);
    spec.name = name;
    spec.category = category;
    spec.provider = provider;
    spec.network = network;
    registry_->register_cluster(spec);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<ca::Registry> registry_;
  sqlite3* db_ = nullptr;
};

Environment& environment() {
  static Environment instance;
  return instance;
}

std::size_t count_lines_starting_with(const std::string& text, std::string_view prefix) {
  std::size_t count = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = std::min(text.find('\n', start), text.size());
    if (std::string_view(text).substr(start, end - start).substr(0, prefix.size()) == prefix) ++count;
    start = end + 1;
  }
  return count;
}

// Error messages must not depend on the request values (they never echo
// them): however many inputs are tried, only a handful of distinct messages
// may ever appear (there are about ten).
void check_message_is_fixed(const std::string& message) {
  static std::set<std::string> seen;
  seen.insert(message);
  FUZZ_CHECK(seen.size() <= 24);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Environment& env = environment();
  const auto fields = ca::fuzzing::split_fields(data, size, 4);
  const std::uint8_t flags = fields.flags;

  ca::AccessRequest request;
  switch ((flags >> 3) & 7) {
    case 1: request.cluster_id = kPublicId; break;
    case 2: request.cluster_id = kPrivateId; break;
    case 3: request.cluster_id = kCceId; break;
    case 4: request.cluster_id = kNotGrantedId; break;
    case 5: request.cluster_id = std::string(kPublicId) + fields.values[0]; break;
    default: request.cluster_id = fields.values[0];
  }
  if (flags & 1) {
    request.token = (flags & 64) ? std::string(kLiveToken) : (flags & 128) ? std::string(kExpiredToken)
                                                                           : fields.values[1];
  }
  if (flags & 2) request.vpcendpoint = fields.values[2];
  if (flags & 4) request.region = fields.values[3];

  try {
    const ca::AccessInfo info = env.registry().access_info(request);
    if (!info.is_first_download()) {
      FUZZ_CHECK(info.documents == std::vector<std::string>{ca::kDownloaded});
      return 0;
    }
    FUZZ_CHECK(request.cluster_id == kPublicId || request.cluster_id == kPrivateId);
    FUZZ_CHECK(info.documents.size() >= 2);
    for (const std::string& document : info.documents) {
      // One object per document: YAML injection would add a second kind or
      // a document separator.
      FUZZ_CHECK(count_lines_starting_with(document, "kind:") == 1);
      FUZZ_CHECK(count_lines_starting_with(document, "---") == 0);
    }
    if (request.cluster_id == kPrivateId) {
      const auto canonical = ca::canonical_unicast_ip(*request.vpcendpoint);
      FUZZ_CHECK(canonical.has_value());
      FUZZ_CHECK(info.documents[1].find(*canonical) != std::string::npos);
    }
    env.reset(request.cluster_id);
  } catch (const ca::Error& error) {
    const int status = error.http_status();
    FUZZ_CHECK(status == 400 || status == 403);
    if (status == 403) FUZZ_CHECK(error.code() == "UCS.01000004");
    if (status == 400) FUZZ_CHECK(error.code() == "UCS.01000011" || error.code() == "UCS.01030011");
    FUZZ_CHECK(ca::fuzzing::is_error_body(error.to_json()));
    check_message_is_fixed(error.message());
  }
  return 0;
}
