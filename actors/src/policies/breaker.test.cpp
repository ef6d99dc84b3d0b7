#include "phoenix/actors/policies/breaker.hpp"

#include "policies/virtual_clock.hpp"

#include <gtest/gtest.h>

using namespace phoenix;
using namespace phoenix::policies;
using namespace std::chrono_literals;
using phoenix::policies::testing::virtual_clock;

namespace {

runtime::breaker_settings by_count(int n, std::chrono::milliseconds cool_down = 1000ms) {
  runtime::breaker_settings s;
  s.consecutive_failures = n;
  s.cool_down = cool_down;
  return s;
}

void fail(circuit_breaker& b, int n) {
  for (int i = 0; i < n; ++i) {
    auto p = b.acquire();
    ASSERT_TRUE(p.allowed);
    b.record(false, p.probe);
  }
}

TEST(circuit_breaker, opens_after_consecutive_failures_and_refuses_until_the_cool_down) {
  virtual_clock vc;
  circuit_breaker b{"crm", by_count(3), vc.fn()};
  fail(b, 2);
  EXPECT_EQ(b.state(), breaker_state::closed);
  auto p = b.acquire();
  b.record(true, p.probe); // a success resets the run
  fail(b, 2);
  EXPECT_EQ(b.state(), breaker_state::closed);
  fail(b, 1);
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_FALSE(b.admits_traffic());
  EXPECT_EQ(b.transitions(breaker_state::open), 1u);
  auto refused = b.acquire();
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.wait, clock::duration{1000ms});
  vc.advance(999ms);
  EXPECT_FALSE(b.acquire().allowed);
  EXPECT_EQ(b.refused(), 2u);
}

TEST(circuit_breaker,
     half_open_after_the_cool_down_admits_one_probe_and_closes_on_success) {
  virtual_clock vc;
  circuit_breaker b{"crm", by_count(1), vc.fn()};
  fail(b, 1);
  vc.advance(1000ms);
  EXPECT_EQ(b.state(), breaker_state::half_open);
  EXPECT_TRUE(b.admits_traffic()); // the consumer resumes, so a record can probe
  auto probe = b.acquire();
  ASSERT_TRUE(probe.allowed);
  EXPECT_TRUE(probe.probe);
  auto second = b.acquire();
  EXPECT_FALSE(second.allowed) << "only one probe while half-open";
  b.record(true, true);
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_TRUE(b.acquire().allowed);
  EXPECT_EQ(b.transitions(breaker_state::half_open), 1u);
  EXPECT_EQ(b.transitions(breaker_state::closed), 1u);
}

TEST(circuit_breaker, a_failed_probe_opens_it_again_for_a_new_cool_down) {
  virtual_clock vc;
  circuit_breaker b{"crm", by_count(2, 500ms), vc.fn()};
  fail(b, 2);
  vc.advance(500ms);
  auto probe = b.acquire();
  ASSERT_TRUE(probe.probe);
  b.record(false, true);
  EXPECT_EQ(b.state(), breaker_state::open);
  EXPECT_EQ(b.transitions(breaker_state::open), 2u);
  vc.advance(499ms);
  EXPECT_FALSE(b.acquire().allowed);
  vc.advance(1ms);
  EXPECT_TRUE(b.acquire().probe);
}

TEST(circuit_breaker, late_answers_of_calls_admitted_before_it_opened_change_nothing) {
  virtual_clock vc;
  circuit_breaker b{"crm", by_count(1), vc.fn()};
  auto early = b.acquire(); // admitted while closed, answers late
  fail(b, 1);
  b.record(true, early.probe);
  EXPECT_EQ(b.state(), breaker_state::open);
  vc.advance(1000ms);
  auto probe = b.acquire();
  b.record(false, false); // another late answer while half-open: not the probe
  EXPECT_EQ(b.state(), breaker_state::half_open);
  b.record(true, probe.probe);
  EXPECT_EQ(b.state(), breaker_state::closed);
}

TEST(circuit_breaker, a_probe_that_never_answers_is_replaced_after_one_more_cool_down) {
  virtual_clock vc;
  circuit_breaker b{"crm", by_count(1), vc.fn()};
  fail(b, 1);
  vc.advance(1000ms);
  ASSERT_TRUE(b.acquire().probe); // its lane crashed: no answer
  EXPECT_FALSE(b.acquire().allowed);
  vc.advance(1000ms);
  EXPECT_TRUE(b.acquire().probe);
}

TEST(circuit_breaker, opens_on_the_failure_rate_of_the_window_once_it_has_min_calls) {
  virtual_clock vc;
  runtime::breaker_settings s;
  s.consecutive_failures = 0; // rate only
  s.failure_rate = 0.5;
  s.window = 4;
  s.min_calls = 4;
  circuit_breaker b{"crm", s, vc.fn()};
  // fail, ok, fail: 2 of 3, but fewer than min_calls
  for (bool ok : {false, true, false}) {
    auto p = b.acquire();
    b.record(ok, p.probe);
  }
  EXPECT_EQ(b.state(), breaker_state::closed);
  b.record(true, false); // 2 of 4 = 0.5, but a success never opens it
  EXPECT_EQ(b.state(), breaker_state::closed);
  // The window slides: ok, fail, ok, ok → 1 of 4, then fail → (fail, ok, ok, fail) 2 of 4
  b.record(true, false);
  EXPECT_EQ(b.state(), breaker_state::closed);
  b.record(false, false);
  EXPECT_EQ(b.state(), breaker_state::open);
}

TEST(circuit_breaker, a_rate_below_the_threshold_keeps_it_closed_over_many_calls) {
  virtual_clock vc;
  runtime::breaker_settings s;
  s.consecutive_failures = 0;
  s.failure_rate = 0.5;
  s.window = 10;
  s.min_calls = 5;
  circuit_breaker b{"crm", s, vc.fn()};
  for (int i = 0; i < 1000; ++i)
    b.record(i % 3 != 0, false); // one failure in three
  EXPECT_EQ(b.state(), breaker_state::closed);
  EXPECT_EQ(b.transitions(breaker_state::open), 0u);
}

TEST(breaker_registry, one_breaker_per_downstream_with_its_section_or_the_defaults) {
  virtual_clock vc;
  breaker_registry reg{{{"crm", by_count(1)}}, vc.fn()};
  auto crm = reg.of("crm");
  EXPECT_EQ(crm, reg.of("crm"));
  EXPECT_EQ(crm->settings().consecutive_failures, 1);
  EXPECT_EQ(reg.of("billing")->settings().consecutive_failures,
            runtime::breaker_settings{}.consecutive_failures);
  fail(*crm, 1);
  EXPECT_EQ(reg.of("billing")->state(), breaker_state::closed) << "breakers are separate";
  std::vector<std::string> names;
  reg.for_each([&](const circuit_breaker& b) { names.push_back(b.downstream()); });
  EXPECT_EQ(names, (std::vector<std::string>{"billing", "crm"}));
}

} // namespace
