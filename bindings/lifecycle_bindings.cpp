// Translation only: Python values in, the core's judgement, the SDK's field
// names out (docs/contract.md, Cluster API). Nothing is judged here: a JSON
// value of the wrong type is reported to the core (ClusterRegistration::
// mistyped), which answers it.
#include "lifecycle_bindings.hpp"

#include <pybind11/stl.h>

#include <ctime>
#include <optional>
#include <string>

#include "clusteraccess/clusteraccess.hpp"
#include "registry_handle.hpp"

namespace py = pybind11;

namespace clusteraccess::python {

namespace {

// RFC 3339, UTC, seconds: the form Kubernetes' ObjectMeta timestamps take.
std::string timestamp(std::int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// The SDK's Cluster (ShowClusterResponse) as a dict.
py::dict sdk_cluster(const Cluster& c) {
  py::dict labels;
  for (const auto& [key, value] : c.labels) labels[py::str(key)] = value;
  py::dict annotations;
  for (const auto& [key, value] : c.annotations) annotations[py::str(key)] = value;
  annotations["clusteraccess/network"] = std::string(to_string(c.network));

  py::dict metadata;
  metadata["uid"] = c.id.str();
  metadata["name"] = c.name;
  metadata["labels"] = labels;
  metadata["annotations"] = annotations;
  metadata["creationTimestamp"] = timestamp(c.created_at);
  metadata["updateTimestamp"] = timestamp(c.updated_at);
  metadata["generation"] = std::to_string(c.generation);  // a string in the SDK

  py::dict spec;
  spec["category"] = std::string(to_string(c.category));
  spec["type"] = c.type;
  if (!c.cloud_provider.empty()) spec["provider"] = c.cloud_provider;
  if (!c.country.empty()) spec["country"] = c.country;
  if (!c.city.empty()) spec["city"] = c.city;
  spec["manageType"] = std::string(to_string(c.manage_type));
  if (!c.cluster_group_id.empty()) spec["clusterGroupID"] = c.cluster_group_id;
  spec["IsDownloadedCert"] = c.is_downloaded_cert();

  py::dict status;
  status["phase"] = std::string(to_string(c.phase));

  py::dict out;
  out["kind"] = "Cluster";
  out["apiVersion"] = "v1";
  out["metadata"] = metadata;
  out["spec"] = spec;
  out["status"] = status;
  return out;
}

// Decodes the JSON body (as json.loads gave it) into the SDK's fields.
class RegistrationReader {
 public:
  ClusterRegistration read(const py::handle& body) {
    if (!py::isinstance<py::dict>(body)) {
      registration_.mistyped.push_back("body");
      return std::move(registration_);
    }
    const py::dict top = py::reinterpret_borrow<py::dict>(body);
    registration_.kind = text(top, "kind", "kind");
    registration_.api_version = text(top, "apiVersion", "apiVersion");
    if (const auto metadata = object(top, "metadata", "metadata")) {
      registration_.uid = text(*metadata, "uid", "metadata.uid");
      registration_.name = text(*metadata, "name", "metadata.name");
      registration_.labels = pairs(*metadata, "labels", "metadata.labels");
      registration_.annotations = pairs(*metadata, "annotations", "metadata.annotations");
    }
    if (const auto spec = object(top, "spec", "spec")) {
      registration_.category = text(*spec, "category", "spec.category");
      registration_.type = text(*spec, "type", "spec.type");
      registration_.provider = text(*spec, "provider", "spec.provider");
      registration_.country = text(*spec, "country", "spec.country");
      registration_.city = text(*spec, "city", "spec.city");
      registration_.manage_type = text(*spec, "manageType", "spec.manageType");
      registration_.cluster_group_id = text(*spec, "clusterGroupID", "spec.clusterGroupID");
    }
    return std::move(registration_);
  }

 private:
  // The value at `key`, or nothing when absent or null.
  static std::optional<py::object> value(const py::dict& from, const char* key) {
    if (!from.contains(key)) return std::nullopt;
    py::object found = from[key];
    if (found.is_none()) return std::nullopt;
    return found;
  }
  std::optional<std::string> text(const py::dict& from, const char* key, const char* path) {
    const auto found = value(from, key);
    if (!found) return std::nullopt;
    if (!py::isinstance<py::str>(*found)) {
      registration_.mistyped.push_back(path);
      return std::nullopt;
    }
    return found->cast<std::string>();
  }
  std::optional<py::dict> object(const py::dict& from, const char* key, const char* path) {
    const auto found = value(from, key);
    if (!found) return std::nullopt;
    if (!py::isinstance<py::dict>(*found)) {
      registration_.mistyped.push_back(path);
      return std::nullopt;
    }
    return py::reinterpret_borrow<py::dict>(*found);
  }
  std::vector<std::pair<std::string, std::string>> pairs(const py::dict& from, const char* key, const char* path) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto entries = object(from, key, path);
    if (!entries) return out;
    for (const auto& [k, v] : *entries) {
      if (!py::isinstance<py::str>(k) || !py::isinstance<py::str>(v)) {
        registration_.mistyped.push_back(path);
        return {};
      }
      out.emplace_back(k.cast<std::string>(), v.cast<std::string>());
    }
    return out;
  }

  ClusterRegistration registration_;
};

Credentials credentials(const std::optional<std::string>& token, const std::optional<SignedRequest>& signature) {
  return Credentials{token, signature};
}

ClusterId parse_id(const std::string& text) { return ClusterId::parse(text); }

}  // namespace

void bind_lifecycle(py::module_& m) {
  auto cluster = py::reinterpret_borrow<py::class_<Cluster>>(m.attr("Cluster"));
  cluster.def_readonly("type", &Cluster::type)
      .def_readonly("cloud_provider", &Cluster::cloud_provider)
      .def_readonly("updated_at", &Cluster::updated_at)
      .def_readonly("generation", &Cluster::generation)
      .def_readonly("connected_at", &Cluster::connected_at)
      .def_property_readonly("phase", [](const Cluster& c) { return std::string(to_string(c.phase)); })
      .def_readonly("labels", &Cluster::labels)
      .def_readonly("annotations", &Cluster::annotations)
      .def_readonly("country", &Cluster::country)
      .def_readonly("city", &Cluster::city)
      .def_property_readonly("manage_type", [](const Cluster& c) { return std::string(to_string(c.manage_type)); })
      .def_readonly("cluster_group_id", &Cluster::cluster_group_id)
      .def_property_readonly("is_downloaded_cert", &Cluster::is_downloaded_cert)
      .def("to_sdk", &sdk_cluster, "The SDK's Cluster (ShowClusterResponse) as a dict, ready to JSON-encode.");

  py::class_<LifecycleEvent>(m, "Event", "One audit event of a cluster's lifecycle. Times are Unix seconds.")
      .def_property_readonly("kind", [](const LifecycleEvent& e) { return std::string(to_string(e.kind)); })
      .def_property_readonly("cluster_id", [](const LifecycleEvent& e) { return e.cluster_id.str(); })
      .def_readonly("at", &LifecycleEvent::at)
      .def_readonly("principal", &LifecycleEvent::principal)
      .def_readonly("certificate_serial", &LifecycleEvent::certificate_serial)
      .def_readonly("generation", &LifecycleEvent::generation)
      .def("__repr__", [](const LifecycleEvent& e) {
        return "Event(kind='" + std::string(to_string(e.kind)) + "', cluster_id='" + e.cluster_id.str() +
               "', at=" + std::to_string(e.at) + ", principal='" + e.principal + "')";
      });

  auto registry = py::reinterpret_borrow<py::class_<RegistryHandle>>(m.attr("Registry"));
  registry
      .def(
          "reactivate",
          [](const RegistryHandle& h, const std::string& cluster_id) {
            h.run([&](Registry& r) { r.reactivate(parse_id(cluster_id)); });
          },
          py::arg("cluster_id"))
      .def(
          "delete_cluster",
          [](const RegistryHandle& h, const std::string& cluster_id) {
            h.run([&](Registry& r) { r.delete_cluster(parse_id(cluster_id)); });
          },
          py::arg("cluster_id"))
      .def(
          "agent_connected",
          [](const RegistryHandle& h, const std::string& certificate_pem) {
            return h.run([&](Registry& r) { return r.agent_connected(certificate_pem); });
          },
          py::arg("certificate_pem"))
      .def("certificate_revocation_list", call(&Registry::certificate_revocation_list))
      .def(
          "events",
          [](const RegistryHandle& h, const std::optional<std::string>& cluster_id) {
            return h.run([&](Registry& r) {
              return r.events(cluster_id ? std::optional<ClusterId>(parse_id(*cluster_id)) : std::nullopt);
            });
          },
          py::arg("cluster_id") = py::none())
      .def(
          "api_register",
          [](const RegistryHandle& h, const std::optional<std::string>& token, const py::object& body,
             const std::optional<SignedRequest>& signature) {
            const ClusterRegistration registration = RegistrationReader().read(body);
            const std::string uid =
                h.run([&](Registry& r) { return r.register_cluster(credentials(token, signature), registration).str(); });
            py::dict out;
            out["uid"] = uid;
            return out;
          },
          py::arg("token"), py::arg("body"), py::kw_only(), py::arg("signature") = py::none())
      .def(
          "api_list",
          [](const RegistryHandle& h, const std::optional<std::string>& token, std::int64_t limit,
             std::int64_t offset, const std::optional<SignedRequest>& signature) {
            const ClusterPage page =
                h.run([&](Registry& r) { return r.list_clusters(credentials(token, signature), limit, offset); });
            py::list items;
            for (const auto& c : page.items) items.append(sdk_cluster(c));
            py::dict out;
            out["items"] = items;
            out["total"] = page.total;
            return out;
          },
          py::arg("token"), py::kw_only(), py::arg("limit") = -1, py::arg("offset") = 0,
          py::arg("signature") = py::none())
      .def(
          "api_show",
          [](const RegistryHandle& h, const std::optional<std::string>& token, const std::string& cluster_id,
             const std::optional<SignedRequest>& signature) {
            return sdk_cluster(h.run([&](Registry& r) { return r.show_cluster(credentials(token, signature), cluster_id); }));
          },
          py::arg("token"), py::arg("cluster_id"), py::kw_only(), py::arg("signature") = py::none())
      .def(
          "api_delete",
          [](const RegistryHandle& h, const std::optional<std::string>& token, const std::string& cluster_id,
             const std::optional<SignedRequest>& signature) {
            h.run([&](Registry& r) { r.delete_cluster(credentials(token, signature), cluster_id); });
          },
          py::arg("token"), py::arg("cluster_id"), py::kw_only(), py::arg("signature") = py::none())
      .def(
          "api_reactivate",
          [](const RegistryHandle& h, const std::optional<std::string>& token, const std::string& cluster_id,
             const std::optional<SignedRequest>& signature) {
            h.run([&](Registry& r) { r.reactivate(credentials(token, signature), cluster_id); });
            py::dict out;
            out["clusterId"] = cluster_id;
            out["message"] = "activation accepted: the cluster is Pending; download its access information again";
            return out;
          },
          py::arg("token"), py::arg("cluster_id"), py::kw_only(), py::arg("signature") = py::none());
}

}  // namespace clusteraccess::python
