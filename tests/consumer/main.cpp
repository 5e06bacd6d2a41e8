// Registers a cluster, grants a token, downloads its access information once
// and then gets {"Downloaded"}. Prints one line and returns 0 only if all held.
#include <stdlib.h>

#include <chrono>
#include <clusteraccess/clusteraccess.hpp>
#include <filesystem>
#include <iostream>
#include <string>

namespace {

int run(const std::string& path) {
  clusteraccess::Registry registry(path);
  registry.set_public_endpoint("proxy.example.com", 30123);

  clusteraccess::ClusterSpec spec;
  spec.name = "consumer-cluster";
  spec.category = clusteraccess::ClusterCategory::kAttached;
  spec.provider = "eks";
  spec.network = clusteraccess::AccessNetwork::kPublic;
  const clusteraccess::ClusterId id = registry.register_cluster(spec);

  const std::string token = registry.create_token("consumer", std::chrono::hours(1));
  registry.grant("consumer", id);

  const clusteraccess::AccessRequest request{id.str(), token, std::nullopt, std::nullopt};
  const clusteraccess::AccessInfo first = registry.access_info(request);
  if (!first.is_first_download() || first.documents.size() < 2) {
    std::cout << "FAIL: the first call did not return the access information\n";
    return 1;
  }
  const clusteraccess::AccessInfo second = registry.access_info(request);
  if (second.is_first_download() || second.documents.size() != 1 ||
      second.documents[0] != clusteraccess::kDownloaded) {
    std::cout << "FAIL: the second call did not return Downloaded\n";
    return 1;
  }
  // The one error type, as a C++ service would map it to an HTTP response.
  try {
    registry.access_info(clusteraccess::AccessRequest{id.str(), std::nullopt, std::nullopt, std::nullopt});
    std::cout << "FAIL: a call without a token was accepted\n";
    return 1;
  } catch (const clusteraccess::Error& error) {
    if (error.http_status() != 403) {
      std::cout << "FAIL: a call without a token gave " << error.to_json() << "\n";
      return 1;
    }
  }
  std::cout << "OK: cluster " << id.str() << " downloaded once (serial " << *first.certificate_serial
            << "), then \"Downloaded\"\n";
  return 0;
}

}  // namespace

int main() {
  std::string dir = (std::filesystem::temp_directory_path() / "clusteraccess-consumer-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    std::cout << "FAIL: mkdtemp\n";
    return 1;
  }
  int status = 1;
  try {
    status = run(dir + "/state.db");
  } catch (const std::exception& error) {
    std::cout << "FAIL: " << error.what() << "\n";
    status = 1;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return status;
}
