// clusteraccess._core: the Python face of the C++ core. Translation only:
// every value and default comes from the core.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "access_info_fast_path.hpp"
#include "access_key_bindings.hpp"
#include "clusteraccess/clusteraccess.hpp"
#include "delivery.hpp"
#include "lifecycle_bindings.hpp"
#include "python_errors.hpp"
#include "registry_handle.hpp"

namespace py = pybind11;
namespace ca = clusteraccess;
using ca::python::call;
using ca::python::Delivery;
using ca::python::RegistryHandle;

namespace {

ca::ClusterId parse_id(const std::string& text) { return ca::ClusterId::parse(text); }

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "C++ core of clusteraccess (GET /v1/clusters/{clusterid}/accessinfo)";

  ca::python::bind_errors(m);

  m.attr("__version__") = CLUSTERACCESS_VERSION;
  m.attr("DOWNLOADED") = ca::kDownloaded;
  m.attr("DEFAULT_AGENT_IMAGE") = ca::kDefaultAgentImage;

  m.def("is_valid_cluster_id", &ca::is_valid_cluster_id, py::arg("text"),
        "True when text is a Kubernetes UUID (k8s-uuid).");
  m.def(
      "validate_cluster_id", [](const std::string& text) { return parse_id(text).str(); },
      py::arg("text"), "Returns text when it is a k8s-uuid; raises BadRequestError otherwise.");
  m.def(
      "new_cluster_id", [] { return ca::ClusterId::generate().str(); },
      "A new random (version 4) cluster id.");

  m.def(
      "migrate_registry",
      [](const std::string& source, const std::string& target) {
        std::vector<std::tuple<std::string, std::int64_t, std::string>> out;
        {
          py::gil_scoped_release release;
          for (auto& table : ca::migrate_registry(source, target)) {
            out.emplace_back(std::move(table.name), table.rows, std::move(table.digest));
          }
        }
        return out;
      },
      py::arg("source"), py::arg("target"),
      "Copies the SQLite registry file source into an empty PostgreSQL registry at the URI target, "
      "verifies the copy and returns (table, rows, digest) per table.");

  py::class_<ca::Cluster>(m, "Cluster", "A registered cluster. Times are Unix seconds.")
      .def_property_readonly("id", [](const ca::Cluster& c) { return c.id.str(); })
      .def_readonly("name", &ca::Cluster::name)
      .def_property_readonly("category",
                             [](const ca::Cluster& c) { return std::string(ca::to_string(c.category)); })
      .def_readonly("provider", &ca::Cluster::provider)
      .def_property_readonly("network",
                             [](const ca::Cluster& c) { return std::string(ca::to_string(c.network)); })
      .def_readonly("created_at", &ca::Cluster::created_at)
      .def_readonly("downloaded_at", &ca::Cluster::downloaded_at)
      .def_readonly("certificate_serial", &ca::Cluster::certificate_serial)
      .def("__repr__", [](const ca::Cluster& c) {
        return "Cluster(id='" + c.id.str() + "', name='" + c.name + "', category='" +
               std::string(ca::to_string(c.category)) + "', network='" +
               std::string(ca::to_string(c.network)) + "', downloaded=" +
               (c.downloaded_at ? "True" : "False") + ")";
      });

  py::class_<ca::Region>(m, "Region", "A region and the proxy server of its private-network agents.")
      .def_readonly("name", &ca::Region::name)
      .def_property_readonly("proxy_host", [](const ca::Region& r) { return r.proxy.host; })
      .def_property_readonly("proxy_port", [](const ca::Region& r) { return r.proxy.port; })
      .def("__repr__", [](const ca::Region& r) {
        return "Region(name='" + r.name + "', proxy_host='" + r.proxy.host +
               "', proxy_port=" + std::to_string(r.proxy.port) + ")";
      });

  py::class_<ca::DownloadRecord>(m, "Download", "The audit record of one download.")
      .def_property_readonly("cluster_id", [](const ca::DownloadRecord& d) { return d.cluster_id.str(); })
      .def_readonly("principal", &ca::DownloadRecord::principal)
      .def_readonly("downloaded_at", &ca::DownloadRecord::downloaded_at)
      .def_readonly("certificate_serial", &ca::DownloadRecord::certificate_serial)
      .def_property_readonly(
          "network", [](const ca::DownloadRecord& d) { return std::string(ca::to_string(d.network)); })
      .def_readonly("region", &ca::DownloadRecord::region)
      .def_readonly("vpcendpoint", &ca::DownloadRecord::vpcendpoint)
      .def("__repr__", [](const ca::DownloadRecord& d) {
        return "Download(cluster_id='" + d.cluster_id.str() + "', principal='" + d.principal +
               "', certificate_serial='" + d.certificate_serial + "')";
      });

  py::class_<Delivery>(m, "Delivery",
                       "The delivery of one answer of Registry.access_info: abandon() it when the "
                       "answer can no longer reach its client, and a first download not yet committed "
                       "records nothing (RequestAbandonedError, 499).")
      .def(py::init<>())
      // One atomic store, no lock: the core may be reading it on another thread.
      .def(
          "abandon", [](const Delivery& d) { d.guard->abandon(); },
          "The answer is no longer wanted. Irreversible; calling it again is harmless.")
      .def_property_readonly(
          "abandoned", [](const Delivery& d) { return d.guard->abandoned(); }, "True once abandon() was called.")
      .def_readonly("principal", &Delivery::principal,
                    "The principal whose token the answer was for (never the token); None until answered.")
      .def_readonly("certificate_serial", &Delivery::certificate_serial,
                    "The serial (lowercase hex) of the certificate a first download issued; None otherwise.")
      .def("__repr__", [](const Delivery& d) {
        return std::string("Delivery(abandoned=") + (d.guard->abandoned() ? "True" : "False") + ")";
      });

  // The defaults of the keyword arguments are the core's.
  const ca::RegistryOptions defaults;
  const ca::ClusterSpec default_spec;
  py::class_<RegistryHandle>(m, "Registry",
                             "The state of one installation in one SQLite file, and the rules of "
                             "GET /v1/clusters/{clusterid}/accessinfo.")
      .def(py::init([](const std::filesystem::path& path, std::chrono::milliseconds::rep busy_timeout_ms,
                       std::chrono::seconds::rep certificate_validity_seconds, std::function<std::int64_t()> clock,
                       const std::optional<std::filesystem::path>& master_key_file,
                       std::chrono::seconds::rep connection_window_seconds) {
             ca::RegistryOptions options;
             options.busy_timeout = std::chrono::milliseconds(busy_timeout_ms);
             options.agent_certificate_validity = std::chrono::seconds(certificate_validity_seconds);
             options.connection_window = std::chrono::seconds(connection_window_seconds);
             if (master_key_file) options.master_key_file = master_key_file->string();
             if (clock) {
               // Called from the core with the GIL released.
               options.clock = [clock = std::move(clock)] {
                 py::gil_scoped_acquire gil;
                 return clock();
               };
             }
             py::gil_scoped_release release;
             return std::make_unique<RegistryHandle>(ca::Registry(path.string(), std::move(options)));
           }),
           py::arg("path"), py::kw_only(), py::arg("busy_timeout_ms") = defaults.busy_timeout.count(),
           py::arg("certificate_validity_seconds") = defaults.agent_certificate_validity.count(),
           py::arg("clock") = nullptr, py::arg("master_key_file") = py::none(),
           py::arg("connection_window_seconds") = defaults.connection_window.count())
      .def("close", &RegistryHandle::close,
           "Closes the database; later calls raise ValueError. Calls in flight finish first.")
      .def_property_readonly("closed", &RegistryHandle::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](RegistryHandle& h, const py::args&) { h.close(); })
      .def_property_readonly("path", [](const RegistryHandle& h) { return h.get()->path(); })
      .def("set_public_endpoint", call(&ca::Registry::set_public_endpoint), py::arg("host"),
           py::arg("port"))
      .def("public_endpoint",
           [](const RegistryHandle& h) -> std::optional<std::pair<std::string, std::uint16_t>> {
             const auto endpoint = h.run([](ca::Registry& r) { return r.public_endpoint(); });
             if (!endpoint) return std::nullopt;
             return std::make_pair(endpoint->host, endpoint->port);
           })
      .def("add_region", call(&ca::Registry::add_region), py::arg("name"), py::arg("proxy_host"),
           py::arg("proxy_port"))
      .def("regions", call(&ca::Registry::regions))
      .def("set_agent_image", call(&ca::Registry::set_agent_image), py::arg("image"))
      .def("agent_image", call(&ca::Registry::agent_image))
      .def("ca_certificate_pem", call(&ca::Registry::ca_certificate_pem))
      .def(
          "register_cluster",
          [](const RegistryHandle& h, const std::string& name, const std::string& provider,
             const std::string& category, const std::string& network,
             const std::optional<std::string>& cluster_id) {
            return h.run([&](ca::Registry& r) {
              ca::ClusterSpec spec;
              spec.name = name;
              spec.category = ca::parse_cluster_category(category);
              spec.provider = provider;
              spec.network = ca::parse_access_network(network);
              if (cluster_id) spec.id = parse_id(*cluster_id);
              return r.register_cluster(spec).str();
            });
          },
          py::arg("name"), py::kw_only(), py::arg("provider"),
          py::arg("category") = std::string(ca::to_string(default_spec.category)),
          py::arg("network") = std::string(ca::to_string(default_spec.network)), py::arg("cluster_id") = py::none())
      .def(
          "cluster",
          [](const RegistryHandle& h, const std::string& cluster_id) {
            return h.run([&](ca::Registry& r) { return r.cluster(parse_id(cluster_id)); });
          },
          py::arg("cluster_id"))
      .def("clusters", call(&ca::Registry::clusters))
      .def(
          "create_token",
          [](const RegistryHandle& h, const std::string& principal, long long ttl_seconds) {
            return h.run([&](ca::Registry& r) { return r.create_token(principal, std::chrono::seconds(ttl_seconds)); });
          },
          // The core has no default lifetime; a day is the Python API's.
          py::arg("principal"), py::kw_only(), py::arg("ttl_seconds") = 86400)
      .def("revoke_token", call(&ca::Registry::revoke_token), py::arg("token"))
      .def(
          "grant",
          [](const RegistryHandle& h, const std::string& principal, const std::string& cluster_id) {
            h.run([&](ca::Registry& r) { r.grant(principal, parse_id(cluster_id)); });
          },
          py::arg("principal"), py::arg("cluster_id"))
      .def(
          "revoke_grant",
          [](const RegistryHandle& h, const std::string& principal, const std::string& cluster_id) {
            h.run([&](ca::Registry& r) { r.revoke_grant(principal, parse_id(cluster_id)); });
          },
          py::arg("principal"), py::arg("cluster_id"))
      .def("downloads", call(&ca::Registry::downloads))
      .def(
          "backup",
          [](const RegistryHandle& h, const std::filesystem::path& destination) {
            h.run([&](ca::Registry& r) { r.backup(destination.string()); });
          },
          py::arg("destination"));
  ca::python::bind_access_keys(m);  // first: the others take its SignedRequest
  ca::python::bind_access_info(m.attr("Registry"));
  ca::python::bind_lifecycle(m);
}
