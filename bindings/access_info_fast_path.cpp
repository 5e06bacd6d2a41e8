#include "access_info_fast_path.hpp"

#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "clusteraccess/registry.hpp"
#include "python_errors.hpp"
#include "registry_handle.hpp"

namespace py = pybind11;
namespace ca = clusteraccess;

namespace clusteraccess::python {

namespace {

// Registry.access_info is the API's hot path. A pybind11 function can report
// a Python exception only by throwing a C++ one through its dispatcher, and
// on the error answers (400, 403) that throw and its translation cost more
// than the core's whole work (bench/README.md has the figures); so this
// method parses its arguments itself, calls Registry::try_access_info and
// raises the error answers directly.
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

void bind_access_info(py::handle registry_class) {
  const py::object method = py::reinterpret_steal<py::object>(
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(registry_class.ptr()), &access_info_method));
  if (!method) throw py::error_already_set();
  registry_class.attr("access_info") = method;
}

}  // namespace clusteraccess::python
