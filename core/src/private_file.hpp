// Files that hold secrets -- the registry database and its master key file --
// opened only when they are really ours.
//
// A planted symlink, a file another user created in advance, or a hard link to
// a file elsewhere would let someone else read what we write, even after we
// narrow its mode. So such files are opened with O_NOFOLLOW and refused unless
// they are regular files owned by this process's user with exactly one link.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "secret_string.hpp"

namespace clusteraccess::private_file {

// `what` names the file in error messages ("registry file", "master key
// file"); messages never contain the path.

/// Whether `path` exists; throws `Error::storage` naming `what` when it exists
/// but is a symbolic link, not a regular file, not owned by this process's
/// user, or has more than one link.
bool exists_and_is_ours(const std::string& path, std::string_view what);

/// The whole content of `path` (at most `max_size` bytes), opened with
/// O_NOFOLLOW and checked as `exists_and_is_ours` does, and also refused when
/// its group or others may read it. Throws `Error::not_configured` naming
/// `what` when it does not exist.
SecretString read(const std::string& path, std::string_view what, std::size_t max_size);

/// Creates `path` with mode 0600 holding `content`, made durable (fsync of the
/// file and of its directory), and published atomically: the content is
/// written to a temporary file created O_EXCL | O_NOFOLLOW in the same
/// directory, which is then hard-linked to `path` -- link(2) never follows
/// or replaces an existing name, symlinks included -- and unlinked. So a
/// concurrent reader sees either no file or the whole content, never a
/// partly written one. Returns false, writing nothing, when `path` exists
/// already (e.g. another process published it first). Throws `Error::storage`
/// naming `what` when the file cannot be written; no temporary file is left
/// behind then.
bool try_create(const std::string& path, std::string_view content, std::string_view what);

/// `try_create`, but a `path` that exists already throws `Error::storage`
/// ("exists already").
void create(const std::string& path, std::string_view content, std::string_view what);

}  // namespace clusteraccess::private_file
