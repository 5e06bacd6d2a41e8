// Access keys (AK/SK) and signed requests, on clusteraccess._core.
#pragma once

#include <pybind11/pybind11.h>

namespace clusteraccess::python {

/// Adds to `m` the SignedRequest, NewAccessKey and AccessKey classes, and to
/// its Registry create_access_key, access_keys and revoke_access_key.
void bind_access_keys(pybind11::module_& m);

}  // namespace clusteraccess::python
