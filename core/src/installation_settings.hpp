// The installation's settings as the store keeps them: which keys hold what,
// and how their text is written and read back.
//
// The store keeps settings as plain key/value text and knows nothing of their
// meaning; this is the one place that does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "clusteraccess/installation.hpp"
#include "store.hpp"

namespace clusteraccess {

/// Names of the settings kept by `Store::settings` / `Store::set_settings`.
namespace setting_key {
inline constexpr std::string_view kPublicProxyHost = "public_proxy_host";
inline constexpr std::string_view kPublicProxyPort = "public_proxy_port";
inline constexpr std::string_view kAgentImage = "agent_image";
}  // namespace setting_key

/// The settings that record `endpoint` as the public proxy server, to be
/// written together (host and port are one setting to the user).
SettingValues public_endpoint_settings(const ProxyEndpoint& endpoint);
/// The settings that record `image` as the proxy agent image.
SettingValues agent_image_settings(std::string_view image);

/// The proxy server for public-network agents; nothing unless both host and
/// port are set. Throws `Error::storage` (500) when the stored port is not a
/// number from 1 to 65535: the file was changed behind the library's back.
std::optional<ProxyEndpoint> public_endpoint(const Settings& settings);
/// The proxy agent image kept in the settings, or `kDefaultAgentImage`.
std::string agent_image(const Settings& settings);

}  // namespace clusteraccess
