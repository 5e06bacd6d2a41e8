// The master key's file: where the key that seals the registry's secrets lives.
//
// The master key never enters the database (docs/contract.md, "Secrets at
// rest"): it is a file of exactly 32 raw bytes, mode 0600, owned by the
// service's user, by default `<registry>.key` next to a SQLite registry.
#pragma once

#include <optional>
#include <string>

#include "master_key.hpp"

namespace clusteraccess::master_key_file {

/// The key in `path`. Throws `Error::not_configured` when the file does not
/// exist ("master key file does not exist") or does not hold exactly 32
/// bytes, and `Error::storage` when it is a symbolic link, not a regular
/// file, owned by another user, hard-linked, or readable by group or others
/// (see private_file::read).
MasterKey load(const std::string& path);

/// The key in `path`, or nothing when there is no such file; a file that
/// exists is checked and loaded as `load` does.
std::optional<MasterKey> find(const std::string& path);

/// The key in `path`; when there is no such file, a new random key written
/// there (mode 0600, published atomically: see private_file::try_create).
/// When several processes race to create it, one key file results and every
/// caller returns its key.
MasterKey load_or_create(const std::string& path);

}  // namespace clusteraccess::master_key_file
