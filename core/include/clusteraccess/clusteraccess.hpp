// Umbrella header: everything a user of clusteraccess needs.
#pragma once

#include "clusteraccess/access_info.hpp"
#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/error.hpp"
#include "clusteraccess/registry.hpp"
