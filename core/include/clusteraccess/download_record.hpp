// DownloadRecord: the audit record of one download.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"

namespace clusteraccess {

/// The audit record of one download (one issued agent certificate).
struct DownloadRecord {
  ClusterId cluster_id;
  std::string principal;
  std::int64_t downloaded_at;  ///< Unix seconds
  std::string certificate_serial;
  AccessNetwork network;
  /// Set for a private-network cluster: the region and the canonical VPC
  /// endpoint address the request named.
  std::optional<std::string> region;
  std::optional<std::string> vpcendpoint;
};

}  // namespace clusteraccess
