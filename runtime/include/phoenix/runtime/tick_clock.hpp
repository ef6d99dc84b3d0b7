#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define PHOENIX_TICK_CLOCK_TSC 1
#else
#define PHOENIX_TICK_CLOCK_TSC 0
#endif

namespace phoenix::runtime {

/// A clock for short durations measured once a record: the CPU's time-stamp counter
/// where the kernel keeps its own time with it, else `std::chrono::steady_clock`.
///
/// Linux uses the counter as its clocksource ("tsc") only when it runs at a constant
/// rate and agrees across cores; reading it costs one instruction, about 10 ns on the
/// development VM against 24 ns for `steady_clock::now()` through the vDSO, which also
/// reads it. Everywhere else (another clocksource, another architecture) ticks are
/// steady_clock's nanoseconds. Ticks are for differences within one process only.
class tick_clock {
public:
  using ticks = std::int64_t;

  /// Now, in ticks.
  static ticks now() noexcept {
#if PHOENIX_TICK_CLOCK_TSC
    if (state().tsc)
      return static_cast<ticks>(__rdtsc());
#endif
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  /// The time from `from` to `to`, two `now()`s (negative when `to` is earlier).
  static std::chrono::nanoseconds between(ticks from, ticks to) noexcept {
    const auto& s = state();
    if (!s.tsc)
      return std::chrono::nanoseconds{to - from};
    return std::chrono::nanoseconds{
        static_cast<std::int64_t>(static_cast<double>(to - from) * s.ns_per_tick)};
  }

  /// Whether ticks are the time-stamp counter.
  static bool uses_tsc() noexcept {
    return state().tsc;
  }

  /// Nanoseconds a tick (1 when ticks are steady_clock's nanoseconds).
  static double ns_per_tick() noexcept {
    return state().ns_per_tick;
  }

  struct calibration {
    bool tsc = false;
    double ns_per_tick = 1.0;
  };

private:
  /// Decided once a process, on first use: the clocksource is read and the counter's
  /// rate measured against steady_clock over 2 ms (a busy wait).
  static calibration calibrate() noexcept;

  static const calibration& state() noexcept {
    static const calibration s = calibrate();
    return s;
  }
};

} // namespace phoenix::runtime
