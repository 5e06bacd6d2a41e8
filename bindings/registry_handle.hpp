// Python's reference to a clusteraccess::Registry, and `call`, which binds a
// Registry method so that it runs with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include "clusteraccess/registry.hpp"

namespace clusteraccess::python {

// close() drops the reference; calls already running keep their own, so the
// database closes when the last one ends.
class RegistryHandle {
 public:
  explicit RegistryHandle(Registry registry) : registry_(std::make_shared<Registry>(std::move(registry))) {}

  /// The open registry; ValueError once closed.
  std::shared_ptr<Registry> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!registry_) throw pybind11::value_error("the registry is closed");
    return registry_;
  }

  /// `work(registry)` on the open registry, with the GIL released: every
  /// core call may wait on SQLite or do crypto, and other Python threads
  /// should run meanwhile.
  template <typename Work>
  auto run(Work&& work) const {
    const auto registry = get();
    pybind11::gil_scoped_release release;
    return std::forward<Work>(work)(*registry);
  }

  void close() {
    std::shared_ptr<Registry> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released.swap(registry_);
    }
    pybind11::gil_scoped_release release;  // closing may wait on SQLite
    released.reset();
  }

  bool closed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return registry_ == nullptr;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<Registry> registry_;
};

namespace detail {
// The free-function type of a Registry method, const or not: only to deduce
// its result and arguments for `call`.
template <typename Result, typename... Args>
Result (*signature_of(Result (Registry::*)(Args...)))(Args...);
template <typename Result, typename... Args>
Result (*signature_of(Result (Registry::*)(Args...) const))(Args...);

template <typename Method, typename Result, typename... Args>
auto bind_method(Method method, Result (*)(Args...)) {
  return [method](const RegistryHandle& handle, Args... args) -> std::decay_t<Result> {
    return handle.run([&](Registry& registry) -> std::decay_t<Result> {
      return (registry.*method)(std::forward<Args>(args)...);
    });
  };
}
}  // namespace detail

/// Binds a Registry method as a method of RegistryHandle (see `run`).
template <typename Method>
auto call(Method method) {
  return detail::bind_method(method, decltype(detail::signature_of(method)){});
}

}  // namespace clusteraccess::python
