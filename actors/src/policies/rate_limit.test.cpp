#include "phoenix/actors/policies/rate_limit.hpp"

#include "policies/virtual_clock.hpp"

#include <gtest/gtest.h>

using namespace phoenix;
using namespace phoenix::policies;
using namespace std::chrono_literals;
using phoenix::policies::testing::virtual_clock;

namespace {

int take_all(token_bucket& b, clock::time_point now) {
  int n = 0;
  while (b.take(now) == clock::duration::zero())
    ++n;
  return n;
}

TEST(token_bucket, starts_with_the_burst_and_refills_at_the_rate) {
  clock::time_point t{};
  token_bucket b{{10, 5}, t};
  EXPECT_EQ(take_all(b, t), 5);
  auto wait = b.take(t);
  EXPECT_EQ(wait, clock::duration{100ms}) << "one token every 1/rate";
  EXPECT_EQ(take_all(b, t + 99ms), 0);
  EXPECT_EQ(take_all(b, t + 100ms), 1);
  EXPECT_EQ(take_all(b, t + 350ms), 2); // 2.5 accrued since: the half waits
  EXPECT_EQ(b.take(t + 350ms), clock::duration{50ms});
}

TEST(token_bucket, never_saves_more_than_the_burst) {
  clock::time_point t{};
  token_bucket b{{100, 3}, t};
  EXPECT_EQ(take_all(b, t), 3);
  EXPECT_EQ(take_all(b, t + 1h), 3);
  EXPECT_DOUBLE_EQ(b.tokens(t + 2h), 3);
}

TEST(token_bucket, gives_rate_times_elapsed_plus_burst_over_a_long_run) {
  clock::time_point t{};
  token_bucket b{{50, 10}, t};
  int n = 0;
  for (int ms = 0; ms <= 10000; ++ms)
    n += take_all(b, t + std::chrono::milliseconds{ms});
  EXPECT_EQ(n, 50 * 10 + 10);
}

runtime::tenants_config tenants() {
  runtime::tenants_config cfg;
  cfg.enabled = true;
  cfg.default_limit = {10, 2};
  cfg.limits["acme"] = {100, 5};
  cfg.fallback_share = 0.5;
  return cfg;
}

TEST(tenant_limiter, each_tenant_has_its_own_bucket_and_unlisted_ones_the_default) {
  virtual_clock vc;
  tenant_limiter lim{tenants(), vc.fn()};
  int acme = 0, other = 0;
  while (lim.acquire("acme") == clock::duration::zero())
    ++acme;
  while (lim.acquire("globex") == clock::duration::zero())
    ++other;
  EXPECT_EQ(acme, 5);
  EXPECT_EQ(other, 2);
  EXPECT_EQ(lim.acquire("initech"), clock::duration::zero())
      << "another tenant at the default is not held by globex being at its limit";
  vc.advance(100ms);
  EXPECT_EQ(lim.acquire("globex"), clock::duration::zero());
  std::map<std::string, std::uint64_t> throttled;
  lim.for_each_tenant([&](const std::string& t, std::uint64_t n) { throttled[t] = n; });
  EXPECT_EQ(throttled["acme"], 1u);
  EXPECT_EQ(throttled["globex"], 1u);
  EXPECT_EQ(throttled["initech"], 0u);
}

TEST(tenant_limiter, a_record_asking_again_is_counted_throttled_once) {
  virtual_clock vc;
  tenant_limiter lim{tenants(), vc.fn()};
  lim.acquire("globex");
  lim.acquire("globex");
  EXPECT_GT(lim.acquire("globex", true), clock::duration::zero());
  EXPECT_GT(lim.acquire("globex", false), clock::duration::zero());
  std::uint64_t n = 0;
  lim.for_each_tenant([&](const std::string&, std::uint64_t t) { n += t; });
  EXPECT_EQ(n, 1u);
}

TEST(tenant_limiter, remote_tokens_come_in_leases_asked_for_once_until_answered) {
  virtual_clock vc;
  tenant_limiter lim{tenants(), vc.fn()};
  std::vector<std::string> asked;
  lim.set_remote([&](const std::string& t) { asked.push_back(t); });
  EXPECT_GT(lim.acquire("acme"), clock::duration::zero());
  EXPECT_GT(lim.acquire("acme"), clock::duration::zero());
  ASSERT_EQ(asked, std::vector<std::string>{"acme"});
  EXPECT_EQ(lim.lease_size("acme"), 2); // 20 ms of 100/s
  lim.grant("acme", 2, {});
  EXPECT_EQ(lim.acquire("acme"), clock::duration::zero());
  EXPECT_EQ(lim.acquire("acme"), clock::duration::zero());
  EXPECT_GT(lim.acquire("acme"), clock::duration::zero());
  EXPECT_EQ(asked.size(), 2u);
  lim.grant("acme", 0, 30ms); // Redis has none: wait what it said
  EXPECT_EQ(lim.acquire("acme"), clock::duration{30ms});
}

TEST(tenant_limiter, falls_back_to_the_share_of_the_limit_and_back_to_leases) {
  virtual_clock vc;
  tenant_limiter lim{tenants(), vc.fn()};
  std::vector<std::string> asked;
  lim.set_remote([&](const std::string& t) { asked.push_back(t); });
  lim.set_fallback(true);
  EXPECT_TRUE(lim.fallback());
  int n = 0;
  while (lim.acquire("acme") == clock::duration::zero())
    ++n;
  EXPECT_EQ(n, 2) << "half of acme's burst of 5, rounded down by the bucket";
  vc.advance(1s);
  n = 0;
  while (lim.acquire("acme") == clock::duration::zero())
    ++n;
  EXPECT_EQ(n, 2) << "the share's burst caps what a second saves";
  EXPECT_TRUE(asked.empty()) << "no lease asked for while falling back";
  lim.set_fallback(false);
  EXPECT_GT(lim.acquire("acme"), clock::duration::zero());
  EXPECT_EQ(asked.size(), 1u);
  EXPECT_EQ(lim.fallbacks(), 1u);
}

} // namespace
