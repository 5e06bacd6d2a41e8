// TimedTurn: a lock whose acquisition gives up after a timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace clusteraccess {

/// Lets one thread at a time through, waiting at most a given time for its
/// turn. std::timed_mutex would do the same, but libstdc++ implements its
/// try_lock_for with pthread_mutex_clocklock, which the ThreadSanitizer of
/// GCC 12 does not intercept, so every checked run would report a false
/// "unlock of an unlocked mutex".
class TimedTurn {
 public:
  /// Holds the turn until destroyed; `held()` is false when the wait timed out.
  class Hold {
   public:
    Hold(TimedTurn& turn, std::chrono::milliseconds timeout) : turn_(turn) {
      std::unique_lock<std::mutex> lock(turn_.mutex_);
      held_ = turn_.released_.wait_for(lock, timeout, [this] { return !turn_.taken_; });
      if (held_) turn_.taken_ = true;
    }
    ~Hold() {
      if (!held_) return;
      {
        std::lock_guard<std::mutex> lock(turn_.mutex_);
        turn_.taken_ = false;
      }
      turn_.released_.notify_one();
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

    bool held() const noexcept { return held_; }

   private:
    TimedTurn& turn_;
    bool held_ = false;
  };

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool taken_ = false;
};

}  // namespace clusteraccess
