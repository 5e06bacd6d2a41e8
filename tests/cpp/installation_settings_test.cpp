// The installation's settings as text: written by one component, read back by it.
#include "installation_settings.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace clusteraccess {
namespace {

// The settings a store holds after `values` were written into `settings`.
Settings written(Settings settings, const SettingValues& values) {
  for (const auto& [key, value] : values) settings[key] = value;
  return settings;
}

TEST(InstallationSettings, PublicEndpointNeedsHostAndPort) {
  EXPECT_FALSE(public_endpoint(Settings{}).has_value());
  Settings settings{{std::string(setting_key::kPublicProxyHost), "proxy.example.com"}};
  EXPECT_FALSE(public_endpoint(settings).has_value());
  settings.emplace(setting_key::kPublicProxyPort, "30123");
  const auto endpoint = public_endpoint(settings);
  ASSERT_TRUE(endpoint.has_value());
  EXPECT_EQ(endpoint->host, "proxy.example.com");
  EXPECT_EQ(endpoint->port, 30123);
}

TEST(InstallationSettings, InvalidStoredPublicPortIs500) {
  for (const char* port : {"0", "65536", "abc", "", "80x", "-1", " 80"}) {
    const Settings settings{{std::string(setting_key::kPublicProxyHost), "proxy.example.com"},
                            {std::string(setting_key::kPublicProxyPort), port}};
    EXPECT_CA_ERROR(public_endpoint(settings), 500, "UCS.01000007");
  }
}

TEST(InstallationSettings, PublicEndpointIsReadBackAsWritten) {
  const Settings settings = written({}, public_endpoint_settings(ProxyEndpoint{"10.0.0.7", 65535}));
  EXPECT_EQ(settings.size(), 2u);
  const auto endpoint = public_endpoint(settings);
  ASSERT_TRUE(endpoint.has_value());
  EXPECT_EQ(endpoint->host, "10.0.0.7");
  EXPECT_EQ(endpoint->port, 65535);
  // Writing again replaces both.
  const auto replaced =
      public_endpoint(written(settings, public_endpoint_settings(ProxyEndpoint{"proxy.example.com", 1})));
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->host, "proxy.example.com");
  EXPECT_EQ(replaced->port, 1);
}

TEST(InstallationSettings, AgentImageIsTheDefaultUntilSet) {
  EXPECT_EQ(agent_image(Settings{}), kDefaultAgentImage);
  const Settings settings = written({}, agent_image_settings("registry.example.com/agent:2.0"));
  EXPECT_EQ(agent_image(settings), "registry.example.com/agent:2.0");
  // The agent image is no part of the public endpoint, and the reverse.
  EXPECT_FALSE(public_endpoint(settings).has_value());
  EXPECT_EQ(agent_image(written({}, public_endpoint_settings(ProxyEndpoint{"p.example.com", 2}))),
            kDefaultAgentImage);
}

}  // namespace
}  // namespace clusteraccess
