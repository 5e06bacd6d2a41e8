// Moving an installation from one storage backend to another.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clusteraccess {

/// One table as `migrate_registry` copied and verified it.
struct MigratedTable {
  std::string name;
  std::int64_t rows = 0;
  /// SHA-256 (hex) of the table's rows in a canonical form, equal on both
  /// sides: the rows were read back from the target and compared.
  std::string digest;
};

/// Copies everything a SQLite registry (`from`, a file that must exist) holds
/// into a new PostgreSQL registry (`to`, a `postgresql://` or `postgres://`
/// URI): settings, the certificate authority (its key sealed, byte for byte:
/// the target opens with the same master key file), regions, clusters with
/// their download state, serials, generations, labels and annotations,
/// tombstones of deleted clusters, revocations, events, principals, token
/// hashes, access keys (their SKs sealed, byte for byte), grants and
/// download records.
///
/// The source is read in one snapshot and the target written in one
/// transaction; before it commits, every table is read back from the
/// target and its row count and content digest compared with the source's.
/// Throws `Error` (409 `Error::already_exists`) when the target already
/// holds a registry with data, and changes nothing there; `Error::storage`
/// when either side fails or the copy does not verify (then nothing is
/// committed). Returns the tables, in copy order.
std::vector<MigratedTable> migrate_registry(const std::string& from, const std::string& to);

}  // namespace clusteraccess
