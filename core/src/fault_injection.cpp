#include "fault_injection.hpp"

#include <array>
#include <mutex>

namespace clusteraccess::fault {

namespace detail {
std::atomic<bool> armed{false};
}  // namespace detail

namespace {

struct Hooks {
  std::mutex mutex;
  std::array<Hook, kPointCount> table;
};

Hooks& hooks() {
  static Hooks instance;
  return instance;
}

}  // namespace

void set_hook(Point point, Hook hook) {
  auto& h = hooks();
  const std::lock_guard<std::mutex> lock(h.mutex);
  h.table[static_cast<std::size_t>(point)] = std::move(hook);
  bool any = false;
  for (const auto& entry : h.table) any = any || static_cast<bool>(entry);
  detail::armed.store(any, std::memory_order_release);
}

void clear_hooks() noexcept {
  auto& h = hooks();
  const std::lock_guard<std::mutex> lock(h.mutex);
  for (auto& entry : h.table) entry = nullptr;
  detail::armed.store(false, std::memory_order_release);
}

bool detail::run(Point point) {
  Hook hook;
  {
    auto& h = hooks();
    const std::lock_guard<std::mutex> lock(h.mutex);
    hook = h.table[static_cast<std::size_t>(point)];
  }
  // Called without the lock, so that a hook may block or set hooks itself.
  return hook && hook();
}

}  // namespace clusteraccess::fault
