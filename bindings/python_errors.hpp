// The Python face of clusteraccess::Error: the exception tree of
// clusteraccess._core, the one place an Error's status picks its class, and
// the core's error body for any ClusterAccessError.
#pragma once

#include <pybind11/pybind11.h>

#include "clusteraccess/error.hpp"

namespace clusteraccess::python {

/// The Python exception for `error`: an instance of the class its status maps
/// to, with .status, .code and .message set. Null with a Python error set if
/// the instance could not be made.
pybind11::object to_exception(const Error& error);

/// Sets `error` as the current Python exception (see `to_exception`).
void raise(const Error& error);

/// Adds the exception classes, the translation of a thrown `Error` into
/// them, the factories of the HTTP front end's errors and `error_body` to `m`.
void bind_errors(pybind11::module_& m);

}  // namespace clusteraccess::python
