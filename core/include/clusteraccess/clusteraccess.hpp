// Umbrella header: everything a user of clusteraccess needs.
#pragma once

#include "clusteraccess/access_info.hpp"
#include "clusteraccess/access_key.hpp"
#include "clusteraccess/cluster.hpp"
#include "clusteraccess/cluster_id.hpp"
#include "clusteraccess/cluster_registration.hpp"
#include "clusteraccess/credentials.hpp"
#include "clusteraccess/delivery_guard.hpp"
#include "clusteraccess/download_record.hpp"
#include "clusteraccess/error.hpp"
#include "clusteraccess/installation.hpp"
#include "clusteraccess/lifecycle_event.hpp"
#include "clusteraccess/migration.hpp"
#include "clusteraccess/registry.hpp"
#include "clusteraccess/registry_options.hpp"
#include "clusteraccess/signed_request.hpp"
