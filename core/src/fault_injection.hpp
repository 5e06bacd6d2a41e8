// Fault injection: a narrow seam for the robustness tests.
//
// The library calls `fault::injected(point)` (or `fault::reached(point)`) at a
// few places where a fault matters for the download-once guarantee: the
// random source, key generation and signing (a test makes them fail), and the
// moments between issuing the agent key and returning it (the crash driver
// stops or kills the process there), and the wiping of rendered documents
// that were never returned (a test counts it). Unless a test has set a hook,
// each call costs one atomic load.
//
// Used by tests/cpp/fault_injection_test.cpp and tests/crash/crash_driver.cpp.
// Not part of the public API.
#pragma once

#include <atomic>
#include <functional>

namespace clusteraccess::fault {

enum class Point {
  /// Before RAND_bytes (certificate serials, tokens). A hook returning true
  /// makes the random source fail.
  kRandomBytes,
  /// Before an EC key is generated. True makes key generation fail.
  kKeyGeneration,
  /// Before a certificate is signed. True makes signing fail.
  kSign,
  /// access_info: the agent key and certificate exist; nothing is committed
  /// (inside the store's commit: on PostgreSQL its statements are running).
  kAfterKeyGeneration,
  /// access_info: the request is admitted and its serial chosen; the store's
  /// commit comes next, and makes the key and renders the manifest.
  kBeforeCommit,
  /// access_info: the download is committed; the key is not returned yet.
  kAfterCommit,
  /// Rendered manifest documents that were not handed to the caller (a lost
  /// race, an abandoned delivery, a failure before the return) were wiped.
  /// Reached in a destructor: a hook here must not throw.
  kUnreturnedDocumentsWiped,
};
inline constexpr int kPointCount = 7;

/// Called at `point`; returns true to make a step that can fail fail (the
/// return value is ignored at the other points). It may also block, throw or
/// end the process.
using Hook = std::function<bool()>;

/// Sets the hook of `point`; an empty `hook` removes it. Hooks are meant to be
/// set while no other thread is inside the library.
void set_hook(Point point, Hook hook);
/// Removes every hook.
void clear_hooks() noexcept;

namespace detail {
extern std::atomic<bool> armed;  ///< true while any hook is set
bool run(Point point);
}  // namespace detail

/// True when a test's hook asks the step at `point` to fail.
inline bool injected(Point point) {
  return detail::armed.load(std::memory_order_acquire) && detail::run(point);
}

/// Runs the hook of `point`, if any, for its side effects.
inline void reached(Point point) { static_cast<void>(injected(point)); }

}  // namespace clusteraccess::fault
