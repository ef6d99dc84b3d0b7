#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace phoenix::observability {

/// A histogram of durations for hot paths: fixed buckets from 50 µs to 10 s, updated
/// with relaxed atomics (no lock, no allocation), read when scraped. prometheus-cpp's
/// Histogram takes a mutex on every observation; this keeps that off the per-record path.
class duration_histogram {
public:
  /// Upper bounds in seconds (the `le` labels); one more bucket holds the rest (+Inf).
  static constexpr std::array<double, 16> bounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};

  void observe(std::chrono::nanoseconds d) noexcept {
    auto ns = d.count() < 0 ? 0 : d.count();
    std::size_t i = 0;
    while (i < bounds.size() && static_cast<double>(ns) > bounds[i] * 1e9)
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  }

  /// Observations per bucket (not cumulative); the last is above every bound.
  std::uint64_t count(std::size_t bucket) const noexcept {
    return counts_[bucket].load(std::memory_order_relaxed);
  }
  double sum_seconds() const noexcept {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  }

private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

} // namespace phoenix::observability
