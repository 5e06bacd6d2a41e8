// Shared by the C++ benchmark programs: per-operation latency samples.
//
// Every benchmark loop times each operation with the steady clock (a vDSO
// call, ~20 ns) and reports p50/p99 in microseconds next to Google
// Benchmark's own throughput figure.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

namespace clusteraccess::bench {

class Latencies {
 public:
  explicit Latencies(const benchmark::State& state) {
    samples_.reserve(static_cast<std::size_t>(std::min<benchmark::IterationCount>(state.max_iterations, 1 << 24)));
  }

  // Times `operation` and keeps the sample.
  template <typename Operation>
  void time(Operation&& operation) {
    const auto start = std::chrono::steady_clock::now();
    operation();
    const auto end = std::chrono::steady_clock::now();
    if (samples_.size() < samples_.capacity()) {
      samples_.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }

  // Sets the p50_us/p99_us counters and the item count (ops/s).
  void report(benchmark::State& state) {
    state.SetItemsProcessed(state.iterations());
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    state.counters["p50_us"] = percentile(0.50);
    state.counters["p99_us"] = percentile(0.99);
  }

 private:
  double percentile(double p) const {
    const auto index = static_cast<std::size_t>(p * static_cast<double>(samples_.size() - 1) + 0.5);
    return samples_[std::min(index, samples_.size() - 1)];
  }
  std::vector<double> samples_;
};

}  // namespace clusteraccess::bench
