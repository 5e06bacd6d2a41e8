// The settings of one installation: where proxy agents connect to, and which
// agent image they run.
#pragma once

#include <cstdint>
#include <string>

namespace clusteraccess {

/// The proxy agent image used until `Registry::set_agent_image` is called.
inline constexpr const char* kDefaultAgentImage = "swr.example.com/clusteraccess/proxy-agent:1.0.0";

/// Where a proxy agent connects to: a DNS host name or IP address, and a port.
struct ProxyEndpoint {
  std::string host;
  std::uint16_t port = 0;
};

/// A region the installation serves private-network clusters in, with the
/// proxy server agents of that region connect to.
struct Region {
  std::string name;
  ProxyEndpoint proxy;
};

}  // namespace clusteraccess
