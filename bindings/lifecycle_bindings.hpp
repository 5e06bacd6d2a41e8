// The cluster API and the lifecycle, on clusteraccess._core.Registry.
#pragma once

#include <pybind11/pybind11.h>

namespace clusteraccess::python {

/// Adds to `m` the Event class and the new Cluster properties, and to its
/// Registry the lifecycle (reactivate, delete_cluster, agent_connected,
/// certificate_revocation_list, events) and the credentialed cluster API
/// (api_register, api_list, api_show, api_delete, api_reactivate), whose
/// answers are plain dicts with the SDK's field names, ready to JSON-encode.
void bind_lifecycle(pybind11::module_& m);

}  // namespace clusteraccess::python
