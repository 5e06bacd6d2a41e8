#include "installation_settings.hpp"

#include <charconv>
#include <cstdint>

#include "clusteraccess/error.hpp"

namespace clusteraccess {

SettingValues public_endpoint_settings(const ProxyEndpoint& endpoint) {
  return {{std::string(setting_key::kPublicProxyHost), endpoint.host},
          {std::string(setting_key::kPublicProxyPort), std::to_string(endpoint.port)}};
}

SettingValues agent_image_settings(std::string_view image) {
  return {{std::string(setting_key::kAgentImage), std::string(image)}};
}

std::optional<ProxyEndpoint> public_endpoint(const Settings& settings) {
  const auto host = settings.find(setting_key::kPublicProxyHost);
  const auto port = settings.find(setting_key::kPublicProxyPort);
  if (host == settings.end() || port == settings.end()) return std::nullopt;
  const std::string& text = port->second;
  std::uint16_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0) {
    throw Error::storage("stored public proxy port is invalid");
  }
  return ProxyEndpoint{host->second, value};
}

std::string agent_image(const Settings& settings) {
  const auto image = settings.find(setting_key::kAgentImage);
  return image != settings.end() ? image->second : std::string(kDefaultAgentImage);
}

}  // namespace clusteraccess
