#include "phoenix/actors/policies/admission.hpp"

#include "phoenix/actors/policies/guard_probe.hpp"
#include "policies/virtual_clock.hpp"

#include <gtest/gtest.h>

using namespace phoenix;
using namespace phoenix::policies;
using namespace std::chrono_literals;
using phoenix::policies::testing::virtual_clock;

namespace {

runtime::node_config two_breakers() {
  runtime::node_config cfg;
  runtime::breaker_settings crm;
  crm.consecutive_failures = 1;
  crm.required = true;
  cfg.breakers["crm"] = crm;
  cfg.breakers["audit"] = crm;
  cfg.breakers["audit"].required = false;
  return cfg;
}

bool check_ok(const observability::readiness& ready, const std::string& name) {
  for (auto& c : ready.evaluate().checks)
    if (c.name == name)
      return c.ok;
  ADD_FAILURE() << "no check " << name;
  return false;
}

TEST(admission, an_open_breaker_of_a_required_downstream_fails_ready_and_others_do_not) {
  virtual_clock vc;
  auto cfg = two_breakers();
  auto a = make_admission(cfg, vc.fn());
  EXPECT_FALSE(a->tenants) << "no [tenants]: no limiter";
  observability::readiness ready;
  add_readiness_checks(cfg, *a, ready);
  EXPECT_TRUE(ready.evaluate().ready);
  a->breakers->of("audit")->record(false, false);
  EXPECT_TRUE(ready.evaluate().ready) << "audit is not required";
  a->breakers->of("crm")->record(false, false);
  EXPECT_FALSE(ready.evaluate().ready);
  EXPECT_FALSE(check_ok(ready, "breaker:crm"));
  *vc.now += runtime::breaker_settings{}.cool_down;
  EXPECT_TRUE(check_ok(ready, "breaker:crm")) << "half-open lets the probe decide";
}

TEST(admission, the_probe_exposes_breaker_state_transitions_and_tenant_counts) {
  virtual_clock vc;
  auto cfg = two_breakers();
  cfg.tenants.enabled = true;
  cfg.tenants.default_limit = {1, 1};
  auto a = make_admission(cfg, vc.fn());
  observability::metrics_registry metrics;
  guard_probe probe{metrics, a};
  a->breakers->of("crm")->record(false, false);
  a->tenants->acquire("acme");
  a->tenants->acquire("acme");
  auto text = metrics.render();
  for (auto line : {"phoenix_breaker_state{downstream=\"crm\"} 1",
                    "phoenix_breaker_transitions_total{downstream=\"crm\",to=\"open\"} 1",
                    "phoenix_records_throttled_total{tenant=\"acme\"} 1",
                    "phoenix_rate_limit_fallback 0"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
}

} // namespace
