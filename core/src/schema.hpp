// The registry's SQL schema: created in a new file, checked in an existing one.
#pragma once

#include "sqlite.hpp"

namespace clusteraccess {

/// The schema version this library writes and reads (`PRAGMA user_version`).
/// Version 1 kept the CA private key in the clear (`private_key_pem`);
/// version 2 keeps it as opaque bytes with a `key_sealed` marker; version 3
/// adds the cluster API and the lifecycle (the SDK's cluster fields,
/// generations, revocations, events, tombstones); version 4 adds access keys
/// (AK/SK, the SK sealed). A file of an older version is upgraded when it is
/// opened; a newer one is refused.
inline constexpr int kSchemaVersion = 4;

/// Throws `Error::storage` unless the database on `connection` is empty or a
/// clusteraccess registry of a version this library can open (not newer than
/// `kSchemaVersion`). Only reads.
void check_schema_compatible(sqlite::Connection& connection);

/// Creates the schema in a new (empty) database, in one write transaction,
/// or checks that an existing one is a clusteraccess registry of
/// `kSchemaVersion` (a single read when it is), or upgrades one of an older
/// version to it, in one write transaction. The upgrade from version 1 keeps
/// the CA key as it was, in the clear and marked so (`key_sealed` = 0): the
/// master key belongs to the layer above the store, which seals it next
/// (Store::replace_clear_ca_key, which also wipes the copies this upgrade
/// leaves in free pages). Throws `Error::storage` for a
/// database written by a newer library, or for a file that is not a
/// clusteraccess registry. Safe when several connections open a new file at
/// once: exactly one creates the schema.
void create_or_check_schema(sqlite::Connection& connection);

}  // namespace clusteraccess
