#include "phoenix/runtime/tick_clock.hpp"

#include <fstream>
#include <string>

namespace phoenix::runtime {
namespace {

bool kernel_clocksource_is_tsc() {
  std::ifstream in{"/sys/devices/system/clocksource/clocksource0/current_clocksource"};
  std::string name;
  return in >> name && name == "tsc";
}

} // namespace

tick_clock::calibration tick_clock::calibrate() noexcept {
  calibration c;
#if PHOENIX_TICK_CLOCK_TSC
  try {
    if (!kernel_clocksource_is_tsc())
      return c;
  } catch (...) {
    return c;
  }
  using steady = std::chrono::steady_clock;
  struct pair {
    double tsc;
    steady::time_point at;
  };
  // A steady_clock reading with the counter read just before and after it; a pair whose
  // two counter readings are far apart (the thread was preempted) is taken again.
  auto sample = [] {
    for (int tries = 0;; ++tries) {
      auto before = __rdtsc();
      auto at = steady::now();
      auto after = __rdtsc();
      if (after - before < 20'000 || tries == 100)
        return pair{(static_cast<double>(before) + static_cast<double>(after)) / 2, at};
    }
  };
  const auto first = sample();
  while (steady::now() - first.at < std::chrono::milliseconds{2}) {
  }
  const auto last = sample();
  const double ns = std::chrono::duration<double, std::nano>(last.at - first.at).count();
  const double ticks = last.tsc - first.tsc;
  // A counter between 100 MHz and 20 GHz; anything else is not a clock to trust.
  if (ns > 0 && ticks > 0 && ticks / ns > 0.1 && ticks / ns < 20.0) {
    c.tsc = true;
    c.ns_per_tick = ns / ticks;
  }
#endif
  return c;
}

} // namespace phoenix::runtime
