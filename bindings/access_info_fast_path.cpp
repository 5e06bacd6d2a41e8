#include "access_info_fast_path.hpp"

#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "clusteraccess/registry.hpp"
#include "delivery.hpp"
#include "python_errors.hpp"
#include "registry_handle.hpp"

namespace py = pybind11;
namespace ca = clusteraccess;

namespace clusteraccess::python {

namespace {

// Registry.access_info and Registry.judge_access_info are the API's hot path.
// A pybind11 function can report a Python exception only by throwing a C++
// one through its dispatcher, and on the error answers (400, 403) that throw
// and its translation cost more than the core's whole work (bench/README.md
// has the figures); so these methods parse their arguments themselves, call
// the core's non-throwing entry points and raise the error answers directly.
constexpr const char* kArgumentNames[] = {"cluster_id", "token", "vpcendpoint", "region", "signature", "delivery"};
constexpr Py_ssize_t kPositional = 2;
constexpr std::size_t kAccessInfoArguments = 6;  // with delivery
constexpr std::size_t kJudgeArguments = 5;       // without

// `value` as UTF-8: a str, or None (nothing) where `optional`. False with a
// Python exception set otherwise. A str holding lone surrogates (what Python
// makes of undecodable bytes in argv or a path) has no UTF-8 form: it is
// passed on with the surrogates encoded as they are, so that the rules reject
// it as they reject any other bad value.
bool text_argument(const char* method, PyObject* value, const char* name, bool optional,
                   std::optional<std::string>& out) {
  if (value == nullptr || (optional && value == Py_None)) return true;
  if (!PyUnicode_Check(value)) {
    PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be str%s, not %.200s", method, name,
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

// The arguments (cluster_id, token, *, vpcendpoint=None, region=None,
// signature=None[, delivery=None]) of `method`, which takes the first `accepted` names of
// kArgumentNames, into `request`; `delivery` is the Delivery passed, if any.
// False with a Python exception set when they do not fit.
bool parse_arguments(const char* method, std::size_t accepted, PyObject* const* args, Py_ssize_t nargs,
                     PyObject* kwnames, ca::AccessRequest& request, Delivery*& delivery) {
  PyObject* values[kAccessInfoArguments] = {};
  if (nargs > kPositional) {
    PyErr_Format(PyExc_TypeError, "%s() takes 2 positional arguments but %zd were given", method, nargs);
    return false;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) values[i] = args[i];
  const Py_ssize_t keywords = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    std::size_t index = 0;
    while (index < accepted && PyUnicode_CompareWithASCIIString(name, kArgumentNames[index]) != 0) ++index;
    if (index == accepted) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", method, name);
      return false;
    }
    if (values[index] != nullptr) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%U'", method, name);
      return false;
    }
    values[index] = args[nargs + k];
  }
  for (Py_ssize_t i = 0; i < kPositional; ++i) {
    if (values[i] == nullptr) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", method, kArgumentNames[i]);
      return false;
    }
  }
  std::optional<std::string> cluster_id;
  if (!text_argument(method, values[0], "cluster_id", false, cluster_id) ||
      !text_argument(method, values[1], "token", true, request.token) ||
      !text_argument(method, values[2], "vpcendpoint", true, request.vpcendpoint) ||
      !text_argument(method, values[3], "region", true, request.region)) {
    return false;
  }
  request.cluster_id = std::move(*cluster_id);
  if (values[4] != nullptr && values[4] != Py_None) {
    py::detail::make_caster<ca::SignedRequest> caster;
    if (!caster.load(values[4], /*convert=*/false)) {
      PyErr_Format(PyExc_TypeError, "%s() argument 'signature' must be SignedRequest or None, not %.200s", method,
                   Py_TYPE(values[4])->tp_name);
      return false;
    }
    request.signature = py::detail::cast_op<const ca::SignedRequest&>(caster);
  }
  delivery = nullptr;
  if (values[5] != nullptr && values[5] != Py_None) {
    py::detail::make_caster<Delivery> caster;
    if (!caster.load(values[5], /*convert=*/false)) {
      PyErr_Format(PyExc_TypeError, "%s() argument 'delivery' must be Delivery or None, not %.200s", method,
                   Py_TYPE(values[5])->tp_name);
      return false;
    }
    delivery = &py::detail::cast_op<Delivery&>(caster);
    request.delivery = delivery->guard;
  }
  return true;
}

// Sets the Python error of a C++ exception escaping a call.
void set_error_of_current_exception() {
  try {
    throw;
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
}

// The documents as a list of str. The C++ strings are wiped by the
// AccessInfo that owns them; the str objects are the caller's answer.
PyObject* documents_list(const std::vector<std::string>& documents) {
  return py::cast(documents).release().ptr();
}

PyObject* access_info(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  ca::AccessRequest request;
  Delivery* delivery = nullptr;
  if (!parse_arguments("access_info", kAccessInfoArguments, args, nargs, kwnames, request, delivery)) {
    return nullptr;
  }
  try {
    const auto registry = py::handle(self).cast<const RegistryHandle&>().get();
    // Built in place and never copied: the one C++ copy of a first
    // download's documents is the AccessInfo in here, which wipes them.
    std::optional<std::variant<ca::AccessInfo, ca::Error>> answer;
    {
      py::gil_scoped_release release;
      answer.emplace(registry->try_access_info(request));
    }
    if (const auto* error = std::get_if<ca::Error>(&*answer)) {
      raise(*error);
      return nullptr;
    }
    const ca::AccessInfo& info = std::get<ca::AccessInfo>(*answer);
    if (delivery != nullptr) {
      delivery->principal = info.principal;
      delivery->certificate_serial = info.certificate_serial;
    }
    return documents_list(info.documents);
  } catch (...) {
    set_error_of_current_exception();
  }
  return nullptr;
}

PyObject* judge_access_info(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  ca::AccessRequest request;
  Delivery* unused = nullptr;
  if (!parse_arguments("judge_access_info", kJudgeArguments, args, nargs, kwnames, request, unused)) {
    return nullptr;
  }
  try {
    const auto registry = py::handle(self).cast<const RegistryHandle&>().get();
    std::optional<std::variant<ca::AccessInfo, ca::Error, ca::FirstDownloadAdmitted>> judgement;
    {
      py::gil_scoped_release release;
      judgement.emplace(registry->judge_access_info(request));
    }
    if (const auto* error = std::get_if<ca::Error>(&*judgement)) {
      raise(*error);
      return nullptr;
    }
    if (const auto* info = std::get_if<ca::AccessInfo>(&*judgement)) {
      const py::object documents = py::reinterpret_steal<py::object>(documents_list(info->documents));
      return py::make_tuple(documents, info->principal).release().ptr();
    }
    return py::make_tuple(py::none(), std::get<ca::FirstDownloadAdmitted>(*judgement).principal).release().ptr();
  } catch (...) {
    set_error_of_current_exception();
  }
  return nullptr;
}

PyMethodDef access_info_method = {
    "access_info", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(access_info)),
    METH_FASTCALL | METH_KEYWORDS,
    // The first line in pybind11's form, as for every other method.
    "access_info(self: clusteraccess._core.Registry, cluster_id: str, token: str | None, *, "
    "vpcendpoint: str | None = None, region: str | None = None, "
    "signature: clusteraccess._core.SignedRequest | None = None, "
    "delivery: clusteraccess._core.Delivery | None = None) -> list[str]\n\n"
    "GET /v1/clusters/{clusterid}/accessinfo: the manifest documents on the first download, "
    "[\"Downloaded\"] on every later one. Raises BadRequestError (400), ForbiddenError (403) or "
    "InternalError (500). signature: the request as received when it is signed with an access key "
    "(a live token is enough; otherwise the signature decides). A first download whose delivery was abandoned before its commit records "
    "nothing and raises RequestAbandonedError (499); on an answer, delivery notes its principal and "
    "certificate serial."};

PyMethodDef judge_access_info_method = {
    "judge_access_info", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(judge_access_info)),
    METH_FASTCALL | METH_KEYWORDS,
    "judge_access_info(self: clusteraccess._core.Registry, cluster_id: str, token: str | None, *, "
    "vpcendpoint: str | None = None, region: str | None = None, "
    "signature: clusteraccess._core.SignedRequest | None = None) -> tuple[list[str] | None, str]\n\n"
    "The judgement of access_info (rules 1 to 5, one storage read) without the issuing: raises what "
    "access_info raises for a rejection; returns ([\"Downloaded\"], principal) for a cluster "
    "downloaded before, and (None, principal) for an admitted first download, which only "
    "access_info issues. Makes no key, records nothing."};

void add_method(py::handle registry_class, PyMethodDef& definition) {
  const py::object method = py::reinterpret_steal<py::object>(
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(registry_class.ptr()), &definition));
  if (!method) throw py::error_already_set();
  registry_class.attr(definition.ml_name) = method;
}

}  // namespace

void bind_access_info(py::handle registry_class) {
  add_method(registry_class, access_info_method);
  add_method(registry_class, judge_access_info_method);
}

}  // namespace clusteraccess::python
