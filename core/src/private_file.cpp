#include "private_file.hpp"

#include <atomic>
#include <cerrno>
#include <string>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clusteraccess/error.hpp"

namespace clusteraccess::private_file {

namespace {

std::string message(std::string_view what, std::string_view problem) {
  std::string text(what);
  text += ' ';
  text += problem;
  return text;
}

// Closes a descriptor on every path out.
class Descriptor {
 public:
  explicit Descriptor(int fd) noexcept : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

void require_ours(const struct stat& status, std::string_view what) {
  if (!S_ISREG(status.st_mode)) throw Error::storage(message(what, "is not a regular file"));
  if (status.st_uid != ::geteuid()) {
    throw Error::storage(message(what, "is owned by another user; refusing to use it"));
  }
  if (status.st_nlink != 1) {
    throw Error::storage(message(what, "has more than one hard link; refusing to use it"));
  }
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

bool exists_and_is_ours(const std::string& path, std::string_view what) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    if (errno == ENOENT) return false;
    throw Error::storage(message(what, "cannot be examined"));
  }
  if (S_ISLNK(status.st_mode)) {
    throw Error::storage(message(what, "is a symbolic link; refusing to follow it"));
  }
  // Unlinked between the lookup and the read of its attributes (SQLite
  // removes a -wal file when its last connection closes): it is gone.
  if (status.st_nlink == 0) return false;
  require_ours(status, what);
  return true;
}

SecretString read(const std::string& path, std::string_view what, std::size_t max_size) {
  const Descriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    if (errno == ENOENT) throw Error::not_configured(message(what, "does not exist"));
    if (errno == ELOOP) throw Error::storage(message(what, "is a symbolic link; refusing to follow it"));
    throw Error::storage(message(what, "cannot be opened"));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) throw Error::storage(message(what, "cannot be examined"));
  require_ours(status, what);
  if ((status.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    throw Error::storage(message(what, "may be read by other users; make it mode 0600"));
  }
  if (static_cast<std::size_t>(status.st_size) > max_size) {
    throw Error::not_configured(message(what, "is larger than expected"));
  }
  SecretString content(std::string(max_size + 1, '\0'));
  std::size_t size = 0;
  while (size <= max_size) {
    const ssize_t n = ::read(fd.get(), content.data() + size, max_size + 1 - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error::storage(message(what, "cannot be read"));
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  if (size > max_size) throw Error::not_configured(message(what, "is larger than expected"));
  return SecretString(std::string(content.view().substr(0, size)));
}

bool try_create(const std::string& path, std::string_view content, std::string_view what) {
  // The temporary name is unique to this process and call; a name left over
  // by a crashed process of the same pid is skipped (O_EXCL), not reused.
  static std::atomic<unsigned> counter{0};
  const std::string directory = directory_of(path);
  std::string temporary;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    temporary = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
    raw_fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                    S_IRUSR | S_IWUSR);
    if (raw_fd < 0 && errno != EEXIST) break;
  }
  if (raw_fd < 0) throw Error::storage(message(what, "cannot be created"));
  {
    const Descriptor fd(raw_fd);
    bool written = ::fchmod(fd.get(), S_IRUSR | S_IWUSR) == 0;  // whatever the umask
    std::size_t done = 0;
    while (written && done < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        written = false;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    written = written && ::fsync(fd.get()) == 0;
    if (!written) {
      ::unlink(temporary.c_str());
      throw Error::storage(message(what, "cannot be written"));
    }
  }
  // renameat2(RENAME_NOREPLACE) publishes the name atomically and fails with
  // EEXIST rather than replace anything. On a file system without it,
  // link(2) then unlink(2) gives the same guarantee, except that for an
  // instant the file has two links (and a concurrent `read` refuses it).
  int published = ::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  int publish_error = errno;
  const bool renamed = published == 0;
  if (!renamed && publish_error != EEXIST) {
    published = ::link(temporary.c_str(), path.c_str());
    publish_error = errno;
  }
  if (!renamed) ::unlink(temporary.c_str());
  if (published != 0) {
    if (publish_error == EEXIST) return false;
    throw Error::storage(message(what, "cannot be created"));
  }
  // The file's name is durable only once its directory is.
  const Descriptor directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory_fd.get() >= 0) ::fsync(directory_fd.get());
  return true;
}

void create(const std::string& path, std::string_view content, std::string_view what) {
  if (!try_create(path, content, what)) {
    throw Error::storage(message(what, "exists already; refusing to overwrite it"));
  }
}

}  // namespace clusteraccess::private_file
