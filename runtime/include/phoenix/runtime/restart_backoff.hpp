#pragma once

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <string>

namespace phoenix::runtime {

/// Exponential backoff between restarts of a child that keeps failing (as Akka's
/// BackoffSupervisor): the first exit after a stable period restarts the child at once;
/// each further exit before the child has stayed up for `reset_after` waits
/// `min(max, min * 2^(n-1)) * (1 + jitter * u)` before the n-th delayed restart, with u
/// uniform in [0, 1), so a delay is at most `max * (1 + jitter)`.
struct restart_backoff {
  std::chrono::milliseconds min{200};
  std::chrono::milliseconds max{30000};
  /// Spreads the restarts of nodes that fail together (0: none, 1: up to twice as long).
  double jitter = 0.2;
  /// A child up for this long is stable again: its next exit restarts it at once.
  std::chrono::milliseconds reset_after{10000};
};

/// The delay before the n-th (n >= 1) consecutive delayed restart, for a jitter draw
/// `u` in [0, 1).
std::chrono::milliseconds backoff_delay(const restart_backoff& b, int n, double u);

/// Checks a backoff: min, max and reset_after positive, min <= max, jitter 0 to 1.
/// Errors: errc::config_bad_value naming `<where> <key>`.
result<void> validate_restart_backoff(const restart_backoff& b, const std::string& where);

} // namespace phoenix::runtime
