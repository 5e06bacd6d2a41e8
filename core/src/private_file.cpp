#include "private_file.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
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

void create(const std::string& path, std::string_view content, std::string_view what) {
  const int raw_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                            S_IRUSR | S_IWUSR);
  if (raw_fd < 0) {
    if (errno == EEXIST) throw Error::storage(message(what, "exists already; refusing to overwrite it"));
    throw Error::storage(message(what, "cannot be created"));
  }
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
    ::unlink(path.c_str());
    throw Error::storage(message(what, "cannot be written"));
  }
  // The file's name is durable only once its directory is.
  const Descriptor directory(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() >= 0) ::fsync(directory.get());
}

}  // namespace clusteraccess::private_file
