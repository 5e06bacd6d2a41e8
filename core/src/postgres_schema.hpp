// The registry's schema on PostgreSQL: created in a new database (or
// schema), checked in an existing one.
#pragma once

#include "postgres.hpp"

namespace clusteraccess {

/// The schema version PostgresStore writes and reads, in the table
/// `clusteraccess_schema`. Up to 4 the numbers follow the SQLite schema's
/// (schema.hpp): version N holds what SQLite's version N holds. PostgreSQL
/// starts at 3 (the cluster API and the lifecycle); version 4 adds access
/// keys (AK/SK, the SK sealed); version 5 is PostgreSQL's own and stores
/// nothing new: each grant carries a copy of its cluster's access state,
/// kept by the database, so that a request's read opens two relations. A
/// registry of version 3 or 4 is upgraded when it is opened; a newer one is
/// refused.
inline constexpr int kPostgresSchemaVersion = 5;

/// Creates the schema in the connection's first `search_path` schema when it
/// holds no tables, in one transaction under an advisory lock (so that of
/// several processes opening a new database at once exactly one creates
/// it); or upgrades a registry of an older supported version (under the same
/// lock), or checks that it holds one of `kPostgresSchemaVersion`. Throws `Error::storage` for a newer version,
/// or for a schema holding another program's tables.
void create_or_check_postgres_schema(postgres::Connection& connection);

}  // namespace clusteraccess
