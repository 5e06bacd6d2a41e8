// clusteraccess._core: the Python face of the C++ core. Translation only.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "clusteraccess/clusteraccess.hpp"

namespace py = pybind11;
namespace ca = clusteraccess;

namespace {

// The Python exception hierarchy, mapped from Error::status() in one place.
struct ErrorTypes {
  py::handle base;
  py::handle bad_request;
  py::handle forbidden;
  py::handle not_found;
  py::handle conflict;
  py::handle internal;

  py::handle for_status(ca::Status status) const {
    switch (status) {
      case ca::Status::kBadRequest: return bad_request;
      case ca::Status::kForbidden: return forbidden;
      case ca::Status::kNotFound: return not_found;
      case ca::Status::kConflict: return conflict;
      case ca::Status::kInternal: return internal;
    }
    return base;
  }
};

ErrorTypes& error_types() {
  static ErrorTypes types;
  return types;
}

py::handle new_exception(py::module_& m, const char* name, py::handle base, const char* doc) {
  const std::string qualified = std::string("clusteraccess.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // the module keeps the reference
  return type;
}

// Sets the Python exception of `error`: its class by status, with .status,
// .code and .message. Called on every error answer of access_info, so it uses
// the CPython API directly with attribute names interned once.
void raise(const ca::Error& error) {
  static PyObject* const status_name = PyUnicode_InternFromString("status");
  static PyObject* const code_name = PyUnicode_InternFromString("code");
  static PyObject* const message_name = PyUnicode_InternFromString("message");
  const py::handle type = error_types().for_status(error.status());
  const py::str message(error.message());
  const py::object exception =
      py::reinterpret_steal<py::object>(PyObject_CallOneArg(type.ptr(), message.ptr()));
  if (!exception) return;  // the call set an exception already
  const py::int_ status(error.http_status());
  const py::str code(error.code());
  if (PyObject_SetAttr(exception.ptr(), status_name, status.ptr()) != 0 ||
      PyObject_SetAttr(exception.ptr(), code_name, code.ptr()) != 0 ||
      PyObject_SetAttr(exception.ptr(), message_name, message.ptr()) != 0) {
    return;
  }
  PyErr_SetObject(type.ptr(), exception.ptr());
}

ca::ClusterId parse_id(const std::string& text) { return ca::ClusterId::parse(text); }

// Python's reference to a Registry. close() drops it; calls already running
// keep their own reference, so the database closes when the last one ends.
class RegistryHandle {
 public:
  explicit RegistryHandle(ca::Registry registry)
      : registry_(std::make_shared<ca::Registry>(std::move(registry))) {}

  std::shared_ptr<ca::Registry> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!registry_) throw py::value_error("the registry is closed");
    return registry_;
  }

  void close() {
    std::shared_ptr<ca::Registry> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released.swap(registry_);
    }
    py::gil_scoped_release release;  // closing may wait on SQLite
    released.reset();
  }

  bool closed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return registry_ == nullptr;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<ca::Registry> registry_;
};

// Binds a Registry method: takes a reference to the open registry, then runs
// the method with the GIL released.
template <typename Result, typename... Args>
auto call(Result (ca::Registry::*method)(Args...)) {
  return [method](const RegistryHandle& handle, Args... args) -> std::decay_t<Result> {
    const auto registry = handle.get();
    py::gil_scoped_release release;
    return ((*registry).*method)(std::forward<Args>(args)...);
  };
}

template <typename Result, typename... Args>
auto call(Result (ca::Registry::*method)(Args...) const) {
  return [method](const RegistryHandle& handle, Args... args) -> std::decay_t<Result> {
    const auto registry = handle.get();
    py::gil_scoped_release release;
    return ((*registry).*method)(std::forward<Args>(args)...);
  };
}

// Registry.access_info(cluster_id, token, *, vpcendpoint=None, region=None),
// bound by hand: it is the API's hot path. A pybind11 function can report a
// Python exception only by throwing a C++ one through its dispatcher, and on
// the error answers (400, 403) that throw and its translation cost more than
// the core's whole work; so this method parses its arguments itself, calls
// Registry::try_access_info and raises the error answers directly.
constexpr const char* kAccessInfoArguments[] = {"cluster_id", "token", "vpcendpoint", "region"};
constexpr Py_ssize_t kAccessInfoPositional = 2;

// `value` as UTF-8: a str, or None (nothing) where `optional`. False with a
// Python exception set otherwise. A str holding lone surrogates (what Python
// makes of undecodable bytes in argv or a path) has no UTF-8 form: it is
// passed on with the surrogates encoded as they are, so that the rules reject
// it as they reject any other bad value.
bool text_argument(PyObject* value, const char* name, bool optional, std::optional<std::string>& out) {
  if (value == nullptr || (optional && value == Py_None)) return true;
  if (!PyUnicode_Check(value)) {
    PyErr_Format(PyExc_TypeError, "access_info() argument '%s' must be str%s, not %.200s", name,
                 optional ? " or None" : "", Py_TYPE(value)->tp_name);
    return false;
  }
  Py_ssize_t size = 0;
  if (const char* data = PyUnicode_AsUTF8AndSize(value, &size)) {
    out.emplace(data, static_cast<std::size_t>(size));
    return true;
  }
  if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return false;
  PyErr_Clear();
  const py::object bytes =
      py::reinterpret_steal<py::object>(PyUnicode_AsEncodedString(value, "utf-8", "surrogatepass"));
  if (!bytes) return false;
  out.emplace(PyBytes_AS_STRING(bytes.ptr()), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.ptr())));
  return true;
}

PyObject* access_info(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* values[4] = {};
  if (nargs > kAccessInfoPositional) {
    PyErr_Format(PyExc_TypeError, "access_info() takes 2 positional arguments but %zd were given", nargs);
    return nullptr;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) values[i] = args[i];
  const Py_ssize_t keywords = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    std::size_t index = 0;
    while (index < 4 && PyUnicode_CompareWithASCIIString(name, kAccessInfoArguments[index]) != 0) ++index;
    if (index == 4) {
      PyErr_Format(PyExc_TypeError, "access_info() got an unexpected keyword argument '%U'", name);
      return nullptr;
    }
    if (values[index] != nullptr) {
      PyErr_Format(PyExc_TypeError, "access_info() got multiple values for argument '%U'", name);
      return nullptr;
    }
    values[index] = args[nargs + k];
  }
  for (std::size_t i = 0; i < kAccessInfoPositional; ++i) {
    if (values[i] == nullptr) {
      PyErr_Format(PyExc_TypeError, "access_info() missing required argument '%s'", kAccessInfoArguments[i]);
      return nullptr;
    }
  }
  std::optional<std::string> cluster_id;
  ca::AccessRequest request;
  if (!text_argument(values[0], "cluster_id", false, cluster_id) ||
      !text_argument(values[1], "token", true, request.token) ||
      !text_argument(values[2], "vpcendpoint", true, request.vpcendpoint) ||
      !text_argument(values[3], "region", true, request.region)) {
    return nullptr;
  }
  request.cluster_id = std::move(*cluster_id);

  try {
    const auto registry = py::handle(self).cast<const RegistryHandle&>().get();
    std::variant<ca::AccessInfo, ca::Error> answer;
    {
      py::gil_scoped_release release;
      answer = registry->try_access_info(request);
    }
    if (const auto* error = std::get_if<ca::Error>(&answer)) {
      raise(*error);
      return nullptr;
    }
    return py::cast(std::get<ca::AccessInfo>(answer).documents).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const ca::Error& e) {
    raise(e);
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

PyMethodDef access_info_method = {
    "access_info", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(access_info)),
    METH_FASTCALL | METH_KEYWORDS,
    // The first line in pybind11's form, as for every other method.
    "access_info(self: clusteraccess._core.Registry, cluster_id: str, token: str | None, *, "
    "vpcendpoint: str | None = None, region: str | None = None) -> list[str]\n\n"
    "GET /v1/clusters/{clusterid}/accessinfo: the manifest documents on the first download, "
    "[\"Downloaded\"] on every later one. Raises BadRequestError (400), ForbiddenError (403) or "
    "InternalError (500)."};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "C++ core of clusteraccess (GET /v1/clusters/{clusterid}/accessinfo)";

  auto& types = error_types();
  types.base = new_exception(m, "ClusterAccessError", PyExc_Exception,
                             "Base of every clusteraccess error: .status (HTTP status), .code "
                             "(UCS.XXXXXXXX) and .message.");
  types.bad_request = new_exception(m, "BadRequestError", types.base, "400: a bad parameter value.");
  types.forbidden = new_exception(m, "ForbiddenError", types.base, "403: request forbidden.");
  types.not_found = new_exception(m, "NotFoundError", types.base, "404: no such object.");
  types.conflict = new_exception(m, "ConflictError", types.base, "409: the object exists already.");
  types.internal = new_exception(m, "InternalError", types.base,
                                 "500: storage or crypto failure; nothing was recorded.");
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const ca::Error& error) {
      raise(error);
    }
  });

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

  py::class_<RegistryHandle>(m, "Registry",
                             "The state of one installation in one SQLite file, and the rules of "
                             "GET /v1/clusters/{clusterid}/accessinfo.")
      .def(py::init([](const std::filesystem::path& path, int busy_timeout_ms,
                       long long certificate_validity_seconds, std::function<std::int64_t()> clock) {
             ca::RegistryOptions options;
             options.busy_timeout = std::chrono::milliseconds(busy_timeout_ms);
             options.agent_certificate_validity = std::chrono::seconds(certificate_validity_seconds);
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
           py::arg("path"), py::kw_only(), py::arg("busy_timeout_ms") = 5000,
           py::arg("certificate_validity_seconds") = 365LL * 24 * 3600, py::arg("clock") = nullptr)
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
             const auto registry = h.get();
             std::optional<ca::ProxyEndpoint> endpoint;
             {
               py::gil_scoped_release release;
               endpoint = registry->public_endpoint();
             }
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
            const auto registry = h.get();
            py::gil_scoped_release release;
            ca::ClusterSpec spec;
            spec.name = name;
            spec.category = ca::parse_cluster_category(category);
            spec.provider = provider;
            spec.network = ca::parse_access_network(network);
            if (cluster_id) spec.id = parse_id(*cluster_id);
            return registry->register_cluster(spec).str();
          },
          py::arg("name"), py::kw_only(), py::arg("provider"), py::arg("category") = "attachedcluster",
          py::arg("network") = "public", py::arg("cluster_id") = py::none())
      .def(
          "cluster",
          [](const RegistryHandle& h, const std::string& cluster_id) {
            const auto registry = h.get();
            py::gil_scoped_release release;
            return registry->cluster(parse_id(cluster_id));
          },
          py::arg("cluster_id"))
      .def("clusters", call(&ca::Registry::clusters))
      .def(
          "create_token",
          [](const RegistryHandle& h, const std::string& principal, long long ttl_seconds) {
            const auto registry = h.get();
            py::gil_scoped_release release;
            return registry->create_token(principal, std::chrono::seconds(ttl_seconds));
          },
          py::arg("principal"), py::kw_only(), py::arg("ttl_seconds") = 86400)
      .def("revoke_token", call(&ca::Registry::revoke_token), py::arg("token"))
      .def(
          "grant",
          [](const RegistryHandle& h, const std::string& principal, const std::string& cluster_id) {
            const auto registry = h.get();
            py::gil_scoped_release release;
            registry->grant(principal, parse_id(cluster_id));
          },
          py::arg("principal"), py::arg("cluster_id"))
      .def(
          "revoke_grant",
          [](const RegistryHandle& h, const std::string& principal, const std::string& cluster_id) {
            const auto registry = h.get();
            py::gil_scoped_release release;
            registry->revoke_grant(principal, parse_id(cluster_id));
          },
          py::arg("principal"), py::arg("cluster_id"))
      .def("downloads", call(&ca::Registry::downloads));
  {
    py::object registry_class = m.attr("Registry");
    const py::object method = py::reinterpret_steal<py::object>(
        PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(registry_class.ptr()), &access_info_method));
    if (!method) throw py::error_already_set();
    registry_class.attr("access_info") = method;
  }
}
