// RegistryOptions are checked when a registry is opened: out of bounds is a
// 400 naming the option and its bounds (registry_options.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>

#include "clusteraccess/clusteraccess.hpp"
#include "test_support.hpp"

namespace clusteraccess {
namespace {

using namespace std::chrono_literals;
using testing::error_of;

constexpr std::chrono::seconds kTenYears = std::chrono::hours(24 * 3650);

void expect_bad_option(const RegistryOptions& options, std::string_view option, std::string_view bounds) {
  const Error error = error_of([&] { Registry registry(":memory:", options); });
  EXPECT_EQ(error.http_status(), 400) << error.what();
  EXPECT_EQ(error.code(), "UCS.01000011") << error.what();
  EXPECT_NE(error.message().find(option), std::string::npos) << error.message();
  EXPECT_NE(error.message().find(bounds), std::string::npos) << error.message();
}

RegistryOptions with_validity(std::chrono::seconds validity) {
  RegistryOptions options;
  options.agent_certificate_validity = validity;
  return options;
}

RegistryOptions with_busy_timeout(std::chrono::milliseconds timeout) {
  RegistryOptions options;
  options.busy_timeout = timeout;
  return options;
}

// A first download with these options: the manifest.
bool downloads(const RegistryOptions& options) {
  Registry registry(":memory:", options);
  registry.set_public_endpoint("proxy.example.com", 30123);
  ClusterSpec spec;
  spec.name = "prod";
  spec.provider = "eks";
  const ClusterId id = registry.register_cluster(spec);
  const std::string token = registry.create_token("alice", 3600s);
  registry.grant("alice", id);
  return registry.access_info(AccessRequest{id.str(), token, std::nullopt, std::nullopt}).is_first_download();
}

TEST(RegistryOptions, AgentCertificateValidityOutOfBoundsIs400) {
  for (const std::chrono::seconds validity :
       {0s, -1s, kTenYears + 1s, std::chrono::seconds(100'000'000'000'000'000),
        std::chrono::seconds::max(), std::chrono::seconds::min()}) {
    SCOPED_TRACE(validity.count());
    expect_bad_option(with_validity(validity), "agent_certificate_validity", "between 1 second and 3650 days");
  }
}

TEST(RegistryOptions, AgentCertificateValidityAtItsBoundsIssuesCertificates) {
  EXPECT_TRUE(downloads(with_validity(1s)));
  EXPECT_TRUE(downloads(with_validity(kTenYears)));
}

TEST(RegistryOptions, BusyTimeoutOutOfBoundsIs400) {
  for (const std::chrono::milliseconds timeout :
       {std::chrono::milliseconds(-1), std::chrono::milliseconds(3'600'001), std::chrono::milliseconds::max(),
        std::chrono::milliseconds::min()}) {
    SCOPED_TRACE(timeout.count());
    expect_bad_option(with_busy_timeout(timeout), "busy_timeout", "between 0 and 1 hour");
  }
}

TEST(RegistryOptions, BusyTimeoutAtItsBoundsIsAccepted) {
  EXPECT_TRUE(downloads(with_busy_timeout(0ms)));
  EXPECT_TRUE(downloads(with_busy_timeout(std::chrono::hours(1))));
}

TEST(RegistryOptions, ABadOptionTouchesNoFile) {
  testing::TempDir dir;
  const std::string path = dir.file("state.db");
  EXPECT_CA_ERROR(Registry(path, with_validity(0s)), 400, "UCS.01000011");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace clusteraccess
