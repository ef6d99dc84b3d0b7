#include "phoenix/runtime/tick_clock.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <thread>

namespace {

using phoenix::runtime::tick_clock;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::string kernel_clocksource() {
  std::ifstream in{"/sys/devices/system/clocksource/clocksource0/current_clocksource"};
  std::string name;
  in >> name;
  return name;
}

TEST(tick_clock, counts_the_tsc_only_where_the_kernel_does) {
#if PHOENIX_TICK_CLOCK_TSC
  EXPECT_EQ(tick_clock::uses_tsc(), kernel_clocksource() == "tsc") << kernel_clocksource();
#else
  EXPECT_FALSE(tick_clock::uses_tsc());
#endif
  if (!tick_clock::uses_tsc())
    EXPECT_EQ(tick_clock::ns_per_tick(), 1.0);
}

// The same interval on both clocks. Each end is a steady_clock reading bracketed by two
// tick readings, so a preemption anywhere only widens the tick range the steady
// interval has to fall into: the check fails when the conversion is off, not when the
// machine is busy. 1 % covers the calibration's own error many times over.
TEST(tick_clock, measures_what_steady_clock_measures) {
  for (auto wait : {0ms, 1ms, 30ms}) {
    auto t0 = tick_clock::now();
    auto s0 = steady::now();
    auto t1 = tick_clock::now();
    std::this_thread::sleep_for(wait);
    auto t2 = tick_clock::now();
    auto s1 = steady::now();
    auto t3 = tick_clock::now();
    auto steady_ns = std::chrono::nanoseconds{s1 - s0}.count();
    auto shortest = tick_clock::between(t1, t2).count();
    auto longest = tick_clock::between(t0, t3).count();
    EXPECT_LE(shortest, longest);
    EXPECT_GE(steady_ns, static_cast<std::int64_t>(shortest * 0.99) - 1000) << wait.count();
    EXPECT_LE(steady_ns, static_cast<std::int64_t>(longest * 1.01) + 1000) << wait.count();
    EXPECT_GE(std::chrono::nanoseconds{longest}, wait);
  }
}

TEST(tick_clock, goes_forward_and_keeps_the_sign) {
  auto a = tick_clock::now();
  auto b = tick_clock::now();
  EXPECT_LE(a, b);
  EXPECT_GE(tick_clock::between(a, b).count(), 0);
  std::this_thread::sleep_for(2ms);
  auto c = tick_clock::now();
  EXPECT_LT(tick_clock::between(c, a).count(), 0); // handed in reverse: negative
  EXPECT_GE(tick_clock::between(a, c), 2ms);
}

} // namespace
