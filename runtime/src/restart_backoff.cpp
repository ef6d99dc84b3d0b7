#include "phoenix/runtime/restart_backoff.hpp"

#include <algorithm>

namespace phoenix::runtime {

std::chrono::milliseconds backoff_delay(const restart_backoff& b, int n, double u) {
  // Doubling stops at the cap, so no shift overflows however long a child keeps failing.
  auto base = b.min;
  for (int i = 1; i < n && base < b.max; ++i)
    base *= 2;
  base = std::min(base, b.max);
  u = std::clamp(u, 0.0, 1.0);
  auto extra = static_cast<double>(base.count()) * b.jitter * u;
  return base + std::chrono::milliseconds{static_cast<std::int64_t>(extra)};
}

result<void> validate_restart_backoff(const restart_backoff& b, const std::string& where) {
  auto bad = [&](const char* key, const std::string& what) -> result<void> {
    return error{errc::config_bad_value, where + " " + key + ": " + what};
  };
  if (b.min.count() < 1)
    return bad("backoff_min_ms", "expected a positive number of milliseconds");
  if (b.max < b.min)
    return bad("backoff_max_ms", "must not be below backoff_min_ms (" +
                                     std::to_string(b.min.count()) + "), got " +
                                     std::to_string(b.max.count()));
  if (b.reset_after.count() < 1)
    return bad("backoff_reset_ms", "expected a positive number of milliseconds");
  if (!(b.jitter >= 0.0 && b.jitter <= 1.0))
    return bad("backoff_jitter", "expected 0 to 1, got " + std::to_string(b.jitter));
  return {};
}

} // namespace phoenix::runtime
