// Registry.access_info and Registry.judge_access_info, bound with the CPython
// API rather than pybind11.
#pragma once

#include <pybind11/pybind11.h>

namespace clusteraccess::python {

/// Adds access_info(cluster_id, token, *, vpcendpoint=None, region=None,
/// delivery=None) and judge_access_info(cluster_id, token, *,
/// vpcendpoint=None, region=None) to `registry_class` (the pybind11 class of
/// RegistryHandle). The Delivery class must be bound before.
void bind_access_info(pybind11::handle registry_class);

}  // namespace clusteraccess::python
