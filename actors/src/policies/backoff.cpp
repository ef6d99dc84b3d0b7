#include "phoenix/actors/policies/backoff.hpp"

#include <algorithm>

namespace phoenix::policies {

std::chrono::milliseconds backoff_ceiling(const runtime::retry_policy& p, int failed) {
  auto cap = p.backoff_cap.count();
  std::int64_t v = std::max<std::int64_t>(p.backoff_base.count(), 0);
  for (int i = 1; i < failed && v < cap; ++i)
    v *= 2; // stops at the cap: no overflow
  return std::chrono::milliseconds{std::min(v, cap)};
}

std::chrono::milliseconds full_jitter(const runtime::retry_policy& p, int failed,
                                      std::uint64_t draw) {
  auto ceiling = static_cast<std::uint64_t>(backoff_ceiling(p, failed).count());
  return std::chrono::milliseconds{static_cast<std::int64_t>(draw % (ceiling + 1))};
}

} // namespace phoenix::policies
