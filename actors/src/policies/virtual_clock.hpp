#pragma once

// Virtual time for the policies' unit tests: the breakers and buckets read the clock only
// through a `clock_fn`, which this one answers with a time the test moves.

#include "phoenix/actors/policies/breaker.hpp"

#include <memory>

namespace phoenix::policies::testing {

struct virtual_clock {
  std::shared_ptr<clock::time_point> now = std::make_shared<clock::time_point>();
  clock_fn fn() const {
    return [t = now] { return *t; };
  }
  void advance(clock::duration d) { *now += d; }
};

} // namespace phoenix::policies::testing
