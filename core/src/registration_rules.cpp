#include "registration_rules.hpp"

#include <set>
#include <string>

#include "cluster_catalogue.hpp"
#include "clusteraccess/error.hpp"
#include "names.hpp"

namespace clusteraccess {

namespace {

// Bounds of metadata. Kubernetes allows more annotation bytes (256 KiB);
// a registry row is kept small so that listing a page stays cheap.
constexpr std::size_t kMaxLabels = 64;
constexpr std::size_t kMaxAnnotations = 64;
constexpr std::size_t kMaxAnnotationBytes = 64 * 1024;

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_lower_alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Kubernetes' "name" part of a qualified name, and a label value when not
// empty: at most 63 characters, alphanumeric at both ends, `-_.` inside.
bool is_k8s_name_part(std::string_view text) noexcept {
  if (text.empty() || text.size() > 63) return false;
  if (!is_alnum(text.front()) || !is_alnum(text.back())) return false;
  for (const char c : text) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// A DNS-1123 subdomain: at most 253 characters, lowercase alphanumeric at
// both ends, `-` and `.` inside.
bool is_dns_subdomain(std::string_view text) noexcept {
  if (text.empty() || text.size() > 253) return false;
  if (!is_lower_alnum(text.front()) || !is_lower_alnum(text.back())) return false;
  for (const char c : text) {
    if (!is_lower_alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

// Kubernetes' qualified name: [prefix/]name (label and annotation keys).
bool is_qualified_name(std::string_view key) noexcept {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return is_k8s_name_part(key);
  return is_dns_subdomain(key.substr(0, slash)) && is_k8s_name_part(key.substr(slash + 1));
}

bool is_country_code(std::string_view text) noexcept {
  return text.size() == 2 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'A' && text[1] <= 'Z';
}

bool is_code(std::string_view text, std::size_t max, bool allow_dash) noexcept {
  if (text.empty() || text.size() > max) return false;
  for (const char c : text) {
    if (!is_alnum(c) && !(allow_dash && (c == '-' || c == '_'))) return false;
  }
  return true;
}

const std::string& required(const std::optional<std::string>& value, std::string_view field) {
  if (!value || value->empty()) throw Error::bad_parameter(field, "is required");
  return *value;
}

// Empty counts as not given, as everywhere else in the API.
bool given(const std::optional<std::string>& value) { return value && !value->empty(); }

void check_labels(const ClusterRegistration& registration, Cluster& cluster) {
  if (registration.labels.size() > kMaxLabels) {
    throw Error::bad_parameter("metadata.labels", "must hold at most 64 labels");
  }
  for (const auto& [key, value] : registration.labels) {
    if (!is_qualified_name(key)) {
      throw Error::bad_parameter("metadata.labels",
                                 "keys must be Kubernetes qualified names ([prefix/]name: a name of "
                                 "at most 63 alphanumerics and -_. inside, a DNS subdomain prefix)");
    }
    if (!value.empty() && !is_k8s_name_part(value)) {
      throw Error::bad_parameter("metadata.labels",
                                 "values must be empty or at most 63 alphanumerics and -_. inside");
    }
    if (!cluster.labels.emplace(key, value).second) {
      throw Error::bad_parameter("metadata.labels", "must not repeat a key");
    }
  }
}

void check_annotations(const ClusterRegistration& registration, Cluster& cluster) {
  if (registration.annotations.size() > kMaxAnnotations) {
    throw Error::bad_parameter("metadata.annotations", "must hold at most 64 annotations");
  }
  std::size_t bytes = 0;
  std::set<std::string_view> seen;
  for (const auto& [key, value] : registration.annotations) {
    if (key == "kubeconfig") {
      throw Error::bad_parameter(
          "metadata.annotations.kubeconfig",
          "is refused: the cluster's proxy agent connects out to this service, which never stores "
          "cluster credentials; register without it and install the access information instead");
    }
    if (!is_qualified_name(key)) {
      throw Error::bad_parameter("metadata.annotations",
                                 "keys must be Kubernetes qualified names ([prefix/]name: a name of "
                                 "at most 63 alphanumerics and -_. inside, a DNS subdomain prefix)");
    }
    if (!seen.insert(key).second) {
      throw Error::bad_parameter("metadata.annotations", "must not repeat a key");
    }
    bytes += key.size() + value.size();
    if (bytes > kMaxAnnotationBytes) {
      throw Error::bad_parameter("metadata.annotations", "must total at most 65536 bytes");
    }
    if (key == kNetworkAnnotation) {
      const auto network = try_parse_access_network(value);
      if (!network) {
        throw Error::bad_parameter("metadata.annotations.clusteraccess/network",
                                   "must be \"public\" or \"private\"");
      }
      cluster.network = *network;
      continue;  // kept as the cluster's network, not as an annotation
    }
    cluster.annotations.emplace(key, value);
  }
}

}  // namespace

ValidRegistration validate_registration(const ClusterRegistration& registration) {
  if (!registration.mistyped.empty()) {
    throw Error::bad_parameter(registration.mistyped.front(), "has the wrong JSON type");
  }
  if (required(registration.kind, "kind") != "Cluster") {
    throw Error::bad_parameter("kind", "must be \"Cluster\"");
  }
  if (required(registration.api_version, "apiVersion") != "v1") {
    throw Error::bad_parameter("apiVersion", "must be \"v1\"");
  }

  // The id and the times are the registry's to fill in.
  ValidRegistration valid{Cluster{ClusterId::from_bytes({}), {}, ClusterCategory::kAttached, {},
                                  AccessNetwork::kPublic, 0, std::nullopt, std::nullopt},
                          std::nullopt};
  Cluster& cluster = valid.cluster;
  if (given(registration.uid)) {
    valid.id = ClusterId::try_parse(*registration.uid);
    if (!valid.id) {
      throw Error::bad_parameter("metadata.uid",
                                 "must be a Kubernetes UUID: 36 characters, lowercase hexadecimal "
                                 "digits and hyphens at offsets 8, 13, 18 and 23");
    }
  }
  cluster.name = required(registration.name, "metadata.name");
  if (!is_valid_cluster_name(cluster.name)) {
    throw Error::bad_parameter("metadata.name",
                               "must be 4 to 128 characters of lowercase letters, digits and "
                               "hyphens, starting with a letter and not ending with a hyphen");
  }
  check_labels(registration, cluster);
  check_annotations(registration, cluster);

  const auto category = try_parse_cluster_category(required(registration.category, "spec.category"));
  if (!category) throw Error::bad_parameter("spec.category", "must be \"attachedcluster\" or \"self\"");
  cluster.category = *category;
  cluster.type = required(registration.type, "spec.type");
  cluster.cloud_provider = registration.provider.value_or("");
  if (const auto refusal = catalogue::check(cluster.category, cluster.type, cluster.cloud_provider)) {
    throw Error::bad_parameter(refusal->field, refusal->reason);
  }
  // The original vocabulary named clusters by type (ClusterSpec::provider).
  cluster.provider = cluster.type;

  if (given(registration.country)) {
    if (!is_country_code(*registration.country)) {
      throw Error::bad_parameter("spec.country", "must be a two-letter country code (ISO 3166-1, e.g. CN)");
    }
    cluster.country = *registration.country;
  }
  if (given(registration.city)) {
    if (!is_code(*registration.city, 32, false)) {
      throw Error::bad_parameter("spec.city", "must be 1 to 32 letters and digits (e.g. 110000)");
    }
    cluster.city = *registration.city;
  }
  if (given(registration.cluster_group_id)) {
    if (!is_code(*registration.cluster_group_id, 64, true)) {
      throw Error::bad_parameter("spec.clusterGroupID", "must be 1 to 64 letters, digits, - and _");
    }
    cluster.cluster_group_id = *registration.cluster_group_id;
  }
  // A fleet makes the cluster grouped (as the Terraform provider sends it);
  // grouped without a fleet, or discrete with one, contradict each other.
  if (given(registration.manage_type)) {
    if (*registration.manage_type == "grouped") {
      cluster.manage_type = ManageType::kGrouped;
    } else if (*registration.manage_type == "discrete") {
      cluster.manage_type = ManageType::kDiscrete;
    } else {
      throw Error::bad_parameter("spec.manageType", "must be \"grouped\" or \"discrete\"");
    }
    if (cluster.manage_type == ManageType::kGrouped && cluster.cluster_group_id.empty()) {
      throw Error::bad_parameter("spec.clusterGroupID", "is required when spec.manageType is grouped");
    }
    if (cluster.manage_type == ManageType::kDiscrete && !cluster.cluster_group_id.empty()) {
      throw Error::bad_parameter("spec.manageType", "must be grouped when spec.clusterGroupID is given");
    }
  } else {
    cluster.manage_type = cluster.cluster_group_id.empty() ? ManageType::kDiscrete : ManageType::kGrouped;
  }
  return valid;
}

}  // namespace clusteraccess
