// The registry's SQL schema: created in a new file, checked in an existing one.
#pragma once

#include "sqlite.hpp"

namespace clusteraccess {

/// The schema version this library writes and reads (`PRAGMA user_version`).
/// There is one version so far; a file of any other version is refused.
inline constexpr int kSchemaVersion = 1;

/// Throws `Error::storage` unless the database on `connection` is empty or a
/// clusteraccess registry of a version this library can open (not newer than
/// `kSchemaVersion`). Only reads.
void check_schema_compatible(sqlite::Connection& connection);

/// Creates the schema in a new (empty) database, in one write transaction,
/// or checks that an existing one is a clusteraccess registry of
/// `kSchemaVersion` (a single read when it is). Throws `Error::storage` for a
/// database written by a newer library, or for a file that is not a
/// clusteraccess registry. Safe when several connections open a new file at
/// once: exactly one creates the schema.
void create_or_check_schema(sqlite::Connection& connection);

}  // namespace clusteraccess
