// Translation only: the core makes, seals, lists, revokes and verifies.
#include "access_key_bindings.hpp"

#include <pybind11/stl.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "clusteraccess/clusteraccess.hpp"
#include "registry_handle.hpp"

namespace py = pybind11;

namespace clusteraccess::python {

namespace {

std::string optional_text(const std::optional<std::int64_t>& value) {
  return value ? std::to_string(*value) : "None";
}

}  // namespace

void bind_access_keys(py::module_& m) {
  py::class_<SignedRequest>(m, "SignedRequest",
                            "An HTTP request signed with an access key (SDK-HMAC-SHA256), every value exactly "
                            "as received, for the core to verify: the method, the raw (percent-encoded) path "
                            "without the query, the raw query string without '?', every header as received "
                            "(name, value) in order, and the lowercase hex SHA-256 of the body (None for no "
                            "body).")
      .def(py::init([](std::string method, std::string raw_path, std::string raw_query,
                       std::vector<std::pair<std::string, std::string>> headers,
                       std::optional<std::string> body_sha256) {
             return SignedRequest{std::move(method), std::move(raw_path), std::move(raw_query), std::move(headers),
                                  std::move(body_sha256)};
           }),
           py::arg("method"), py::arg("raw_path"), py::arg("raw_query"), py::arg("headers"),
           py::arg("body_sha256") = py::none())
      .def_readonly("method", &SignedRequest::method)
      .def_readonly("raw_path", &SignedRequest::raw_path)
      .def_readonly("raw_query", &SignedRequest::raw_query)
      .def_readonly("headers", &SignedRequest::headers)
      .def_readonly("body_sha256", &SignedRequest::body_sha256)
      // Header values may hold a signature or a token: never in a repr.
      .def("__repr__", [](const SignedRequest& r) {
        return "SignedRequest(method='" + r.method + "', headers=" + std::to_string(r.headers.size()) + ")";
      });

  py::class_<NewAccessKey>(m, "NewAccessKey",
                           "A new access key, returned once by Registry.create_access_key: ak (20 characters "
                           "A-Z0-9), sk (40 characters, shown only here, never stored in the clear), "
                           "created_at, expires_at (Unix seconds).")
      .def_readonly("ak", &NewAccessKey::access_key)
      .def_readonly("sk", &NewAccessKey::secret_key)
      .def_readonly("created_at", &NewAccessKey::created_at)
      .def_readonly("expires_at", &NewAccessKey::expires_at)
      .def("__repr__", [](const NewAccessKey& k) {
        return "NewAccessKey(ak='" + k.access_key + "', expires_at=" + std::to_string(k.expires_at) + ")";
      });

  py::class_<AccessKeyInfo>(m, "AccessKey",
                            "An access key as Registry.access_keys lists it: ak, principal, created_at, "
                            "expires_at, revoked_at (Unix seconds or None); never its secret.")
      .def_readonly("ak", &AccessKeyInfo::access_key)
      .def_readonly("principal", &AccessKeyInfo::principal)
      .def_readonly("created_at", &AccessKeyInfo::created_at)
      .def_readonly("expires_at", &AccessKeyInfo::expires_at)
      .def_readonly("revoked_at", &AccessKeyInfo::revoked_at)
      .def("__repr__", [](const AccessKeyInfo& k) {
        return "AccessKey(ak='" + k.access_key + "', principal='" + k.principal +
               "', expires_at=" + std::to_string(k.expires_at) + ", revoked_at=" + optional_text(k.revoked_at) + ")";
      });

  auto registry = py::reinterpret_borrow<py::class_<RegistryHandle>>(m.attr("Registry"));
  registry
      .def(
          "create_access_key",
          [](const RegistryHandle& h, const std::string& principal, long long ttl_seconds) {
            return h.run([&](Registry& r) {
              return r.create_access_key(principal, std::chrono::seconds(ttl_seconds));
            });
          },
          // As create_token: the core has no default lifetime; a day is the Python API's.
          py::arg("principal"), py::kw_only(), py::arg("ttl_seconds") = 86400,
          "A new access key for principal: NewAccessKey with ak and sk, the sk returned only here.")
      .def("access_keys", call(&Registry::access_keys), "Every access key, oldest first; never a secret.")
      .def("revoke_access_key", call(&Registry::revoke_access_key), py::arg("ak"),
           "Revokes the access key ak; NotFoundError when there is none.");
}

}  // namespace clusteraccess::python
