#include "python_errors.hpp"

#include <string>
#include <utility>

namespace py = pybind11;

namespace clusteraccess::python {

namespace {

// The exception classes, made once by bind_errors; the module keeps them.
struct ErrorTypes {
  py::handle base;
  py::handle bad_request;
  py::handle forbidden;
  py::handle not_found;
  py::handle method_not_allowed;
  py::handle conflict;
  py::handle request_head_too_large;
  py::handle request_abandoned;
  py::handle internal;

  // The one mapping from an Error's status to its Python class.
  py::handle for_status(Status status) const {
    switch (status) {
      case Status::kBadRequest: return bad_request;
      case Status::kForbidden: return forbidden;
      case Status::kNotFound: return not_found;
      case Status::kMethodNotAllowed: return method_not_allowed;
      case Status::kConflict: return conflict;
      case Status::kRequestHeaderFieldsTooLarge: return request_head_too_large;
      case Status::kClientClosedRequest: return request_abandoned;
      case Status::kInternal: return internal;
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

// An instance of one of the exception classes, named by Tag in signatures
// (and so in _core.pyi) as the class a function takes or returns.
template <typename Tag>
class ExceptionObject : public py::object {
 public:
  using py::object::object;
  explicit ExceptionObject(py::object object) : py::object(std::move(object)) {}
  static bool check_(py::handle h) { return PyObject_IsInstance(h.ptr(), error_types().base.ptr()) == 1; }
};

// The tags: each names its class.
struct AnyError {
  static constexpr auto name = py::detail::const_name("ClusterAccessError");
};
struct BadRequest {
  static constexpr auto name = py::detail::const_name("BadRequestError");
};
struct NotFound {
  static constexpr auto name = py::detail::const_name("NotFoundError");
};
struct MethodNotAllowed {
  static constexpr auto name = py::detail::const_name("MethodNotAllowedError");
};
struct HeadTooLarge {
  static constexpr auto name = py::detail::const_name("RequestHeaderFieldsTooLargeError");
};
struct Internal {
  static constexpr auto name = py::detail::const_name("InternalError");
};

// The exception of one of the core's named errors.
template <typename Tag>
ExceptionObject<Tag> exception_of(const Error& error) {
  py::object exception = to_exception(error);
  if (!exception) throw py::error_already_set();
  return ExceptionObject<Tag>(std::move(exception));
}

}  // namespace

}  // namespace clusteraccess::python

namespace pybind11::detail {
template <typename Tag>
struct handle_type_name<clusteraccess::python::ExceptionObject<Tag>> {
  static constexpr auto name = Tag::name;
};
}  // namespace pybind11::detail

namespace clusteraccess::python {

// Called on every error answer of access_info, so the attribute names are
// interned once.
py::object to_exception(const Error& error) {
  static PyObject* const status_name = PyUnicode_InternFromString("status");
  static PyObject* const code_name = PyUnicode_InternFromString("code");
  static PyObject* const message_name = PyUnicode_InternFromString("message");
  const py::handle type = error_types().for_status(error.status());
  const py::str message(error.message());
  py::object exception = py::reinterpret_steal<py::object>(PyObject_CallOneArg(type.ptr(), message.ptr()));
  if (!exception) return exception;
  const py::int_ status(error.http_status());
  const py::str code(error.code());
  if (PyObject_SetAttr(exception.ptr(), status_name, status.ptr()) != 0 ||
      PyObject_SetAttr(exception.ptr(), code_name, code.ptr()) != 0 ||
      PyObject_SetAttr(exception.ptr(), message_name, message.ptr()) != 0) {
    return py::object();
  }
  // Only a refused signature has one; the class says "" for the others.
  if (!error.log_detail().empty()) {
    static PyObject* const log_detail_name = PyUnicode_InternFromString("log_detail");
    const py::str detail(error.log_detail());
    if (PyObject_SetAttr(exception.ptr(), log_detail_name, detail.ptr()) != 0) return py::object();
  }
  return exception;
}

void raise(const Error& error) {
  const py::object exception = to_exception(error);
  if (exception) PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
}

void bind_errors(py::module_& m) {
  auto& types = error_types();
  types.base = new_exception(m, "ClusterAccessError", PyExc_Exception,
                             "Base of every clusteraccess error: .status (HTTP status), .code "
                             "(UCS.XXXXXXXX) and .message; .log_detail, for the operator's log only, "
                             "says which check refused a signed request (\"\" otherwise).");
  types.base.attr("log_detail") = py::str("");
  types.bad_request = new_exception(m, "BadRequestError", types.base, "400: a bad parameter value.");
  types.forbidden = new_exception(m, "ForbiddenError", types.base, "403: request forbidden.");
  types.not_found = new_exception(m, "NotFoundError", types.base, "404: no such object.");
  types.method_not_allowed = new_exception(m, "MethodNotAllowedError", types.base,
                                           "405: the route does not serve this HTTP method.");
  types.conflict = new_exception(m, "ConflictError", types.base, "409: the object exists already.");
  types.request_head_too_large = new_exception(m, "RequestHeaderFieldsTooLargeError", types.base,
                                               "431: the HTTP request head is over its bounds.");
  types.request_abandoned = new_exception(
      m, "RequestAbandonedError", types.base,
      "499: the request's Delivery was abandoned before its first download was committed; nothing "
      "was recorded. For a front end's log, never sent to a client.");
  types.internal = new_exception(m, "InternalError", types.base,
                                 "500: storage, crypto or configuration failure; nothing was recorded.");
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const Error& error) {
      raise(error);
    }
  });

  m.def(
      "error_body",
      [](const ExceptionObject<AnyError>& error) {
        // Rebuilt from the attributes, so that it is the body of any
        // ClusterAccessError, also of one made in Python.
        const Error rebuilt(static_cast<Status>(error.attr("status").cast<int>()),
                            error.attr("code").cast<std::string>(), error.attr("message").cast<std::string>());
        return py::bytes(rebuilt.to_json());
      },
      py::arg("error"),
      "The API's error body of error, as the core writes it: {\"error_code\": ..., \"error_msg\": ...}.");

  // The errors of an HTTP front end, in the core's words.
  m.def(
      "route_not_found", [] { return exception_of<NotFound>(Error::route_not_found()); },
      "404 UCS.01000005: no route of the API has this path.");
  m.def(
      "method_not_allowed",
      [](const std::string& method) { return exception_of<MethodNotAllowed>(Error::method_not_allowed(method)); },
      py::arg("method"), "405 UCS.01000008: the route does not serve method.");
  m.def(
      "malformed_request", [] { return exception_of<BadRequest>(Error::malformed_request()); },
      "400 UCS.01000011: the bytes received are not a valid HTTP request.");
  m.def(
      "bad_parameter",
      [](const std::string& parameter, const std::string& reason) {
        return exception_of<BadRequest>(Error::bad_parameter(parameter, reason));
      },
      py::arg("parameter"), py::arg("reason"),
      "400 UCS.01000011: parameter has a bad value; reason says what is wrong (never the value).");
  m.def(
      "request_head_too_large",
      [](const std::string& what) { return exception_of<HeadTooLarge>(Error::request_head_too_large(what)); },
      py::arg("what"), "431 UCS.01000010: the request head is over its bounds; what says which.");
  m.def(
      "not_configured",
      [](const std::string& what) { return exception_of<Internal>(Error::not_configured(what)); },
      py::arg("what"), "500 UCS.01000009: the installation lacks a setting; what names it and how to set it.");
  m.def(
      "internal_error", [] { return exception_of<Internal>(Error::internal()); },
      "500 UCS.01000007 \"Internal error\": a failure with no better name; the body says nothing more.");
}

}  // namespace clusteraccess::python
