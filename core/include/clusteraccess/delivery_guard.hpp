// DeliveryGuard: lets a front end withdraw a request whose answer nobody will read.
#pragma once

#include <atomic>

namespace clusteraccess {

/// Says whether the answer to one request is still wanted.
///
/// A front end (an HTTP server) makes one per request, hands it to the
/// library in `AccessRequest::delivery`, and calls `abandon()` -- from any
/// thread, without any lock of its own -- as soon as it knows that the
/// answer cannot be delivered: the client closed or reset its connection,
/// or sent bytes that make the request invalid after its head.
///
/// The library reads the guard where it saves something, on a first
/// download only (docs/contract.md, Serving safely): before the agent key is
/// made, and again after the manifest is rendered, immediately before the
/// download is committed. An abandoned guard stops the download there:
/// nothing is recorded (the cluster stays not downloaded, no audit record,
/// the key is wiped unseen) and the call answers `Error::request_abandoned()`
/// (499), which is for the front end's log, never for a client. A guard
/// abandoned after that last read is too late: the download is committed,
/// and its answer is lost like any answer whose connection breaks after the
/// commit. Requests that issue nothing (every rejection, every
/// {"Downloaded"}) are answered as usual whatever the guard says.
///
/// Reading and setting are single atomic operations: the library's read
/// costs one load, and a binding can set it without holding any
/// interpreter lock.
class DeliveryGuard {
 public:
  DeliveryGuard() noexcept = default;
  DeliveryGuard(const DeliveryGuard&) = delete;
  DeliveryGuard& operator=(const DeliveryGuard&) = delete;

  /// The answer is no longer wanted. Irreversible; calling it again is harmless.
  void abandon() noexcept { abandoned_.store(true, std::memory_order_release); }
  /// True once `abandon()` was called.
  bool abandoned() const noexcept { return abandoned_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> abandoned_{false};
};

}  // namespace clusteraccess
