// The table of cluster categories, types and providers (docs/contract.md,
// Cluster API). Sources:
//  - the cloud's API reference appendix "cluster category and type"
//    (集群类别与类型说明, ucs_api_0024): only its first rows could be read:
//    self + cce + huaweicloud and self + turbo + huaweicloud (verified);
//  - the Terraform provider (huaweicloud/terraform-provider-huaweicloud,
//    resource huaweicloud_ucs_cluster): its documented `service_provider`
//    values aws, azure, aliyun, googlecloud, tencentcloud, openshift,
//    huaweicloud, privatek8s, and its acceptance test registering category
//    attachedcluster, type privatek8s with no provider, which the real API
//    accepts (verified: provider is optional for attached clusters).
// Not verified: the attached types eks, aks, gke, ack, tke and openshift.
// They mirror the managed offerings the cloud's user guide names for
// attached clusters (AWS EKS, GCP GKE, ...) and are this library's original
// vocabulary, so registries written before the cluster API keep their
// clusters; each is tied to the provider that offers it. The on-premises
// category (onpremise/baremetal) is not served: its provider column could
// not be read, and this library attaches third-party clusters only.
#include "cluster_catalogue.hpp"

#include <array>

namespace clusteraccess::catalogue {

namespace {

struct AttachedType {
  std::string_view type;
  std::string_view provider;  // the provider that offers it; empty: any of kProviders
};

constexpr std::array<AttachedType, 7> kAttachedTypes = {{
    {"privatek8s", ""},
    {"eks", "aws"},
    {"aks", "azure"},
    {"gke", "googlecloud"},
    {"ack", "aliyun"},
    {"tke", "tencentcloud"},
    {"openshift", "openshift"},
}};

constexpr std::array<std::string_view, 8> kProviders = {
    "aws", "azure", "aliyun", "googlecloud", "tencentcloud", "openshift", "huaweicloud", "privatek8s"};

constexpr std::array<std::string_view, 2> kSelfTypes = {"cce", "turbo"};
constexpr std::string_view kSelfProvider = "huaweicloud";

template <typename Values>
bool contains(const Values& values, std::string_view value) noexcept {
  for (const auto& v : values) {
    if (v == value) return true;
  }
  return false;
}

const AttachedType* attached_type(std::string_view type) noexcept {
  for (const auto& row : kAttachedTypes) {
    if (row.type == type) return &row;
  }
  return nullptr;
}

}  // namespace

std::optional<Refusal> check(ClusterCategory category, std::string_view type,
                             std::string_view provider) noexcept {
  if (category == ClusterCategory::kCce) {
    if (!contains(kSelfTypes, type)) return Refusal{"spec.type", "must be cce or turbo for category self"};
    if (!provider.empty() && provider != kSelfProvider) {
      return Refusal{"spec.provider", "must be huaweicloud for category self"};
    }
    return std::nullopt;
  }
  const AttachedType* row = attached_type(type);
  if (row == nullptr) {
    return Refusal{"spec.type",
                   "must be one of privatek8s, eks, aks, gke, ack, tke, openshift for category "
                   "attachedcluster"};
  }
  if (provider.empty()) return std::nullopt;
  if (!contains(kProviders, provider)) {
    return Refusal{"spec.provider",
                   "must be one of aws, azure, aliyun, googlecloud, tencentcloud, openshift, "
                   "huaweicloud, privatek8s"};
  }
  if (!row->provider.empty() && row->provider != provider) {
    return Refusal{"spec.provider", "does not offer this spec.type"};
  }
  return std::nullopt;
}

bool is_legacy_type(ClusterCategory category, std::string_view name) noexcept {
  if (category == ClusterCategory::kCce) return contains(kSelfTypes, name);
  return attached_type(name) != nullptr;
}

std::string_view legacy_cloud_provider(std::string_view type) noexcept {
  if (contains(kSelfTypes, type)) return kSelfProvider;
  if (const AttachedType* row = attached_type(type)) return row->provider;
  return {};
}

}  // namespace clusteraccess::catalogue
