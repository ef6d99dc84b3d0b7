#pragma once

#include "phoenix/runtime/retry_policy.hpp"

#include <chrono>
#include <cstdint>

namespace phoenix::policies {

/// The longest wait after the `failed`-th failed attempt (1, 2, ...):
/// min(cap, base * 2^(failed-1)), without overflow for any count.
std::chrono::milliseconds backoff_ceiling(const runtime::retry_policy& p, int failed);

/// Full jitter: the wait after the `failed`-th failed attempt, uniform in
/// [0, backoff_ceiling(p, failed)], picked by `draw` (a uniform 64-bit random number), so
/// a test can name the draw and retries of many records spread out instead of landing
/// together.
std::chrono::milliseconds full_jitter(const runtime::retry_policy& p, int failed,
                                      std::uint64_t draw);

} // namespace phoenix::policies
