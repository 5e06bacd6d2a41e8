// The registry's SQL schema and its migrations.
#pragma once

#include "sqlite.hpp"

namespace clusteraccess {

/// The schema version this library writes (`PRAGMA user_version`).
inline constexpr int kSchemaVersion = 1;

/// Throws `Error::storage` unless the database on `connection` is empty or a
/// clusteraccess registry of this or an older schema version. Only reads.
void check_schema_compatible(sqlite::Connection& connection);

/// Brings the database on `connection` to `kSchemaVersion`, in one write
/// transaction. A new (empty) database gets the whole schema. Throws
/// `Error::storage` for a database written by a newer library, or for a file
/// that is not a clusteraccess registry.
void migrate(sqlite::Connection& connection);

}  // namespace clusteraccess
