// The registry's schema on PostgreSQL: created in a new database (or
// schema), checked in an existing one.
#pragma once

#include "postgres.hpp"

namespace clusteraccess {

/// The schema version PostgresStore writes and reads, in the table
/// `clusteraccess_schema`. The numbers follow the SQLite schema's
/// (schema.hpp): version N holds what SQLite's version N holds, so that a
/// change to the Store is one new version for both backends. PostgreSQL
/// starts at 3 (the cluster API and the lifecycle).
inline constexpr int kPostgresSchemaVersion = 3;

/// Creates the schema in the connection's first `search_path` schema when it
/// holds no tables, in one transaction under an advisory lock (so that of
/// several processes opening a new database at once exactly one creates
/// it); or checks that it holds a clusteraccess registry of
/// `kPostgresSchemaVersion`. Throws `Error::storage` for a newer version,
/// or for a schema holding another program's tables.
void create_or_check_postgres_schema(postgres::Connection& connection);

}  // namespace clusteraccess
