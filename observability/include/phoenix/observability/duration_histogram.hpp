#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace phoenix::observability {

class duration_tally;

/// A histogram of durations for hot paths: fixed buckets from 50 µs to 10 s, updated
/// with relaxed atomics (no lock, no allocation), read when scraped. prometheus-cpp's
/// Histogram takes a mutex on every observation; this keeps that off the per-record path.
class duration_histogram {
public:
  /// Upper bounds in seconds (the `le` labels); one more bucket holds the rest (+Inf).
  static constexpr std::array<double, 16> bounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};
  static constexpr std::size_t bucket_count = bounds.size() + 1;

  /// The bucket of a duration of `ns` nanoseconds (negative counts as 0).
  static std::size_t bucket_of(std::int64_t ns) noexcept {
    std::size_t i = 0;
    while (i < bounds.size() && ns > bound_ns[i])
      ++i;
    return i;
  }

  void observe(std::chrono::nanoseconds d) noexcept {
    auto ns = d.count() < 0 ? 0 : d.count();
    counts_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  }

  /// Adds what `t` gathered (one atomic add per bucket used) and empties it.
  void add(duration_tally& t) noexcept;

  /// Observations per bucket (not cumulative); the last is above every bound.
  std::uint64_t count(std::size_t bucket) const noexcept {
    return counts_[bucket].load(std::memory_order_relaxed);
  }
  double sum_seconds() const noexcept {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  }

private:
  static constexpr std::array<std::int64_t, 16> bound_ns = {
      50'000,      100'000,       250'000,       500'000,       1'000'000,   2'500'000,
      5'000'000,   10'000'000,    25'000'000,    50'000'000,    100'000'000, 250'000'000,
      500'000'000, 1'000'000'000, 2'500'000'000, 10'000'000'000};

  std::array<std::atomic<std::uint64_t>, bucket_count> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// Observations one thread gathers without atomics and adds to a `duration_histogram`
/// now and then (a lane: once a batch), so that each record costs plain increments.
class duration_tally {
public:
  void observe(std::chrono::nanoseconds d) noexcept {
    auto ns = d.count() < 0 ? 0 : d.count();
    ++counts_[duration_histogram::bucket_of(ns)];
    sum_ns_ += static_cast<std::uint64_t>(ns);
    ++total_;
  }

  /// Observations gathered since the last `duration_histogram::add`.
  std::uint64_t total() const noexcept { return total_; }

private:
  friend class duration_histogram;
  std::array<std::uint64_t, duration_histogram::bucket_count> counts_{};
  std::uint64_t sum_ns_ = 0;
  std::uint64_t total_ = 0;
};

inline void duration_histogram::add(duration_tally& t) noexcept {
  if (t.total_ == 0)
    return;
  for (std::size_t i = 0; i < bucket_count; ++i)
    if (t.counts_[i] != 0)
      counts_[i].fetch_add(t.counts_[i], std::memory_order_relaxed);
  sum_ns_.fetch_add(t.sum_ns_, std::memory_order_relaxed);
  t = duration_tally{};
}

} // namespace phoenix::observability
