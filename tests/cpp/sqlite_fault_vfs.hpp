// SqliteFaultVfs: an SQLite VFS that wraps the default "unix" VFS and injects
// I/O faults, the way SQLite's own test suite does (test_vfs.c, its "ioerr"
// and "diskfull" tests).
//
// Installed as the process's default VFS, it is used by every connection the
// library opens afterwards, so faults reach the real code paths without any
// hook in the library: a test tells it to let N reads, writes or syncs
// succeed and then fail with SQLITE_FULL, SQLITE_IOERR_* and so on, once or
// for good. The crash driver (tests/crash) uses its per-operation hook to
// kill the process in the middle of SQLite's I/O.
//
// Used by tests/cpp/fault_injection_test.cpp and tests/crash/crash_driver.cpp.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <stdexcept>

namespace clusteraccess::testing {

/// The file operations faults can be injected into.
enum class FileOp { kRead, kWrite, kSync, kTruncate };
inline constexpr std::size_t kFileOpCount = 4;

class SqliteFaultVfs {
 public:
  /// Called before each operation, with the SQLITE_OPEN_* flags of the file
  /// (SQLITE_OPEN_MAIN_DB, SQLITE_OPEN_WAL, ...), the wrapped file, and for
  /// reads and writes the buffer, size and offset. May end the process.
  using Hook = std::function<void(FileOp op, int open_flags, sqlite3_file* real, const void* data,
                                  int amount, sqlite3_int64 offset)>;

  /// Registers the wrapper as the default VFS (once per process; later calls
  /// do nothing). Connections opened before keep the VFS they had.
  static void install() {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.installed) return;
    s.real = sqlite3_vfs_find("unix");
    if (s.real == nullptr) throw std::runtime_error("no unix VFS");
    s.vfs = *s.real;  // copies every method; the file ones are replaced below
    s.vfs.zName = "clusteraccess-fault";
    s.vfs.szOsFile = static_cast<int>(sizeof(File)) + s.real->szOsFile;
    s.vfs.pAppData = nullptr;
    s.vfs.pNext = nullptr;
    s.vfs.xOpen = &open;
    if (sqlite3_vfs_register(&s.vfs, /*makeDflt=*/1) != SQLITE_OK) {
      throw std::runtime_error("sqlite3_vfs_register failed");
    }
    s.installed = true;
  }

  /// Lets `skip` more calls of `op` succeed, then fails with `error`: that
  /// one call only, or every later call too when `persistent`.
  static void fail_after(FileOp op, int skip, int error, bool persistent = true) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    Rule& rule = s.rules[index(op)];
    rule.armed = true;
    rule.skip = skip;
    rule.error = error;
    rule.persistent = persistent;
    rule.failures = 0;
  }

  /// Removes the fault of `op`.
  static void heal(FileOp op) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.rules[index(op)] = Rule{};
  }

  static void set_hook(Hook hook) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.hook = std::move(hook);
  }

  /// No faults, no hook, counters at zero.
  static void reset() {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.rules = {};
    s.calls = {};
    s.hook = nullptr;
  }

  /// Calls of `op` since the last `reset`.
  static long calls(FileOp op) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    return s.calls[index(op)];
  }

  /// Faults injected into `op` since it was last armed.
  static int failures(FileOp op) {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    return s.rules[index(op)].failures;
  }

 private:
  struct Rule {
    bool armed = false;
    int skip = 0;
    int error = SQLITE_OK;
    bool persistent = true;
    int failures = 0;
  };

  struct State {
    std::mutex mutex;
    bool installed = false;
    sqlite3_vfs* real = nullptr;
    sqlite3_vfs vfs{};
    std::array<Rule, kFileOpCount> rules{};
    std::array<long, kFileOpCount> calls{};
    Hook hook;
  };

  // Our file, followed in the same allocation by the wrapped unix file.
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
    int flags;
  };

  static State& state() {
    static State s;
    return s;
  }

  static std::size_t index(FileOp op) { return static_cast<std::size_t>(op); }

  static sqlite3_file* real_of(sqlite3_file* file) { return reinterpret_cast<File*>(file)->real; }

  // Counts the call, runs the hook, and says whether to fail (the error) or go on (SQLITE_OK).
  static int before(FileOp op, sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    State& s = state();
    Hook hook;
    int result = SQLITE_OK;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      ++s.calls[index(op)];
      hook = s.hook;
      Rule& rule = s.rules[index(op)];
      if (rule.armed) {
        if (rule.skip > 0) {
          --rule.skip;
        } else {
          result = rule.error;
          ++rule.failures;
          if (!rule.persistent) rule.armed = false;
        }
      }
    }
    if (hook) {
      auto* ours = reinterpret_cast<File*>(file);
      hook(op, ours->flags, ours->real, data, amount, offset);
    }
    return result;
  }

  static int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    State& s = state();
    auto* ours = reinterpret_cast<File*>(file);
    ours->base.pMethods = nullptr;
    ours->real = reinterpret_cast<sqlite3_file*>(ours + 1);
    ours->flags = flags;
    const int rc = s.real->xOpen(s.real, name, ours->real, flags, out_flags);
    // SQLite calls xClose when pMethods is set, even after a failed open.
    if (ours->real->pMethods != nullptr) ours->base.pMethods = &methods();
    return rc;
  }

  static const sqlite3_io_methods& methods() {
    static const sqlite3_io_methods m = {
        3,
        /*xClose=*/[](sqlite3_file* f) { return real_of(f)->pMethods->xClose(real_of(f)); },
        /*xRead=*/
        [](sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
          const int rc = before(FileOp::kRead, f, data, amount, offset);
          if (rc != SQLITE_OK) return rc;
          return real_of(f)->pMethods->xRead(real_of(f), data, amount, offset);
        },
        /*xWrite=*/
        [](sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
          const int rc = before(FileOp::kWrite, f, data, amount, offset);
          if (rc != SQLITE_OK) return rc;
          return real_of(f)->pMethods->xWrite(real_of(f), data, amount, offset);
        },
        /*xTruncate=*/
        [](sqlite3_file* f, sqlite3_int64 size) {
          const int rc = before(FileOp::kTruncate, f, nullptr, 0, size);
          if (rc != SQLITE_OK) return rc;
          return real_of(f)->pMethods->xTruncate(real_of(f), size);
        },
        /*xSync=*/
        [](sqlite3_file* f, int flags) {
          const int rc = before(FileOp::kSync, f, nullptr, 0, 0);
          if (rc != SQLITE_OK) return rc;
          return real_of(f)->pMethods->xSync(real_of(f), flags);
        },
        /*xFileSize=*/
        [](sqlite3_file* f, sqlite3_int64* size) { return real_of(f)->pMethods->xFileSize(real_of(f), size); },
        /*xLock=*/[](sqlite3_file* f, int level) { return real_of(f)->pMethods->xLock(real_of(f), level); },
        /*xUnlock=*/[](sqlite3_file* f, int level) { return real_of(f)->pMethods->xUnlock(real_of(f), level); },
        /*xCheckReservedLock=*/
        [](sqlite3_file* f, int* out) { return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out); },
        /*xFileControl=*/
        [](sqlite3_file* f, int op, void* arg) { return real_of(f)->pMethods->xFileControl(real_of(f), op, arg); },
        /*xSectorSize=*/[](sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); },
        /*xDeviceCharacteristics=*/
        [](sqlite3_file* f) { return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f)); },
        /*xShmMap=*/
        [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
          return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
        },
        /*xShmLock=*/
        [](sqlite3_file* f, int offset, int n, int flags) {
          return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
        },
        /*xShmBarrier=*/[](sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); },
        /*xShmUnmap=*/
        [](sqlite3_file* f, int remove) { return real_of(f)->pMethods->xShmUnmap(real_of(f), remove); },
        /*xFetch=*/
        [](sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
          // A page read through the memory map (mmap_size > 0) is a read too.
          const int rc = before(FileOp::kRead, f, nullptr, amount, offset);
          if (rc != SQLITE_OK) {
            *out = nullptr;
            return rc;
          }
          return real_of(f)->pMethods->xFetch(real_of(f), offset, amount, out);
        },
        /*xUnfetch=*/
        [](sqlite3_file* f, sqlite3_int64 offset, void* p) {
          return real_of(f)->pMethods->xUnfetch(real_of(f), offset, p);
        },
    };
    return m;
  }
};

}  // namespace clusteraccess::testing
