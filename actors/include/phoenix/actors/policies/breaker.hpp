#pragma once

#include "phoenix/runtime/guard_config.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace phoenix::policies {

using clock = std::chrono::steady_clock;
/// Where policies read the time: `clock::now` by default, a test's virtual clock in
/// unit tests.
using clock_fn = std::function<clock::time_point()>;

enum class breaker_state : int { closed = 0, open = 1, half_open = 2 };

const char* to_string(breaker_state s) noexcept;

/// What a breaker answers a caller that wants to call its downstream.
struct breaker_permit {
  bool allowed = false;
  bool probe = false;     ///< The one call of a half-open breaker.
  clock::duration wait{}; ///< When not allowed: ask again after this long.
};

/// The circuit breaker of one downstream, shared by every lane and consumer of the node
/// that calls it. Thread-safe: the state is an atomic (a closed breaker admits a call
/// with one load), transitions and counts take a mutex.
///
/// closed → open after `consecutive_failures` failures in a row or a `failure_rate` over
/// the last `window` calls (at least `min_calls`) → after `cool_down`, half-open: one
/// probe call is admitted → closed on its success, open again (a new cool-down) on its
/// failure. A probe that never reports back (its lane crashed) is replaced by another
/// after one more cool-down.
class circuit_breaker {
public:
  circuit_breaker(std::string downstream, runtime::breaker_settings settings,
                  clock_fn now = clock::now);

  const std::string& downstream() const noexcept { return name_; }
  const runtime::breaker_settings& settings() const noexcept { return cfg_; }

  /// May a call go to the downstream now? A half-open breaker admits one probe.
  breaker_permit acquire();

  /// The outcome of an admitted call (`probe` from its permit).
  void record(bool success, bool probe);

  /// The state as of now (an open breaker whose cool-down passed reads half-open).
  breaker_state state() const;

  /// False while the breaker is open and its cool-down has not passed: the consumer keeps
  /// the partitions feeding this downstream paused then.
  bool admits_traffic() const { return state() != breaker_state::open; }

  /// Transitions into `to` since start.
  std::uint64_t transitions(breaker_state to) const {
    return transitions_[static_cast<int>(to)].load(std::memory_order_relaxed);
  }
  /// Calls refused while open or while a probe was out.
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

private:
  void move_to(breaker_state to); // under mtx_
  void open_now();                // under mtx_

  std::string name_;
  runtime::breaker_settings cfg_;
  clock_fn now_;
  std::atomic<int> state_{0};
  mutable std::mutex mtx_;
  clock::time_point open_until_{}; // open: cool-down end; half-open: probe deadline
  bool probe_out_ = false;
  int consecutive_ = 0;
  std::vector<bool> window_; // ring of the last calls, true = failure
  std::size_t next_ = 0;
  std::size_t calls_ = 0;
  std::size_t failures_ = 0;
  std::array<std::atomic<std::uint64_t>, 3> transitions_{};
  std::atomic<std::uint64_t> refused_{0};
};

/// The node's breakers by downstream name, made from `[breaker."<name>"]`. A handler
/// naming a downstream without a section gets a breaker with the default settings.
class breaker_registry {
public:
  explicit breaker_registry(std::map<std::string, runtime::breaker_settings> settings = {},
                            clock_fn now = clock::now);

  /// The breaker of `downstream` (made on first use); always the same object.
  std::shared_ptr<circuit_breaker> of(const std::string& downstream);

  /// Calls `f(breaker)` for every breaker made so far, in name order.
  void for_each(const std::function<void(const circuit_breaker&)>& f) const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, runtime::breaker_settings> settings_;
  clock_fn now_;
  std::map<std::string, std::shared_ptr<circuit_breaker>> breakers_;
};

} // namespace phoenix::policies
