#include "phoenix/runtime/config.hpp"

#include <gtest/gtest.h>

using namespace phoenix::runtime;
using namespace std::chrono_literals;

namespace {

// The error of a config that must be refused: its code and the whole message.
std::pair<phoenix::runtime::errc, std::string> refused(const std::string& text) {
  auto r = parse_config(text, "node.toml");
  EXPECT_FALSE(r.has_value()) << "accepted: " << text;
  if (r)
    return {};
  return {static_cast<errc>(r.error().code().value()), r.error().message()};
}

struct bad_config {
  const char* text;
  errc code;
  const char* message;
};

// Each text is refused with exactly its code and message.
void expect_refused(const std::vector<bad_config>& cases) {
  for (auto& b : cases) {
    auto [code, message] = refused(b.text);
    EXPECT_EQ(code, b.code) << b.text;
    EXPECT_EQ(message, b.message) << b.text;
  }
}

TEST(guard_config, reads_breakers_and_tenants) {
  auto r = parse_config(R"(
[breaker."crm"]
consecutive_failures = 3
failure_rate = 0.5
window = 10
min_calls = 4
cool_down_ms = 2000
required = true
[breaker.billing]
consecutive_failures = 1
[tenants]
backend = "redis"
redis = "10.0.0.7:6380"
default_rate = 50
nodes = 4
[tenants.limits.acme]
rate = 200
burst = 400
[tenants.limits."globex"]
rate = 2.5
)",
                        "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  ASSERT_EQ(r->breakers.size(), 2u);
  auto& crm = r->breakers.at("crm");
  EXPECT_EQ(crm.consecutive_failures, 3);
  EXPECT_DOUBLE_EQ(crm.failure_rate, 0.5);
  EXPECT_EQ(crm.window, 10);
  EXPECT_EQ(crm.min_calls, 4);
  EXPECT_EQ(crm.cool_down, 2000ms);
  EXPECT_TRUE(crm.required);
  EXPECT_FALSE(r->breakers.at("billing").required);
  auto& t = r->tenants;
  EXPECT_TRUE(t.enabled);
  EXPECT_EQ(t.backend, limit_backend::redis);
  EXPECT_EQ(t.redis_host, "10.0.0.7");
  EXPECT_EQ(t.redis_port, 6380);
  EXPECT_DOUBLE_EQ(t.default_limit.rate, 50);
  EXPECT_DOUBLE_EQ(t.default_limit.burst, 50) << "burst defaults to one second's worth";
  EXPECT_DOUBLE_EQ(t.fallback_share, 0.25);
  EXPECT_DOUBLE_EQ(t.limit_of("acme").burst, 400);
  EXPECT_DOUBLE_EQ(t.limit_of("globex").rate, 2.5);
  EXPECT_DOUBLE_EQ(t.limit_of("globex").burst, 2.5);
  EXPECT_DOUBLE_EQ(t.limit_of("initech").rate, 50);
}

TEST(guard_config, no_sections_mean_no_tenant_limits_and_no_breaker_settings) {
  auto r = parse_config("", "node.toml");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->breakers.empty());
  EXPECT_FALSE(r->tenants.enabled);
}

TEST(guard_config, every_bad_breaker_value_names_file_section_and_key) {
  expect_refused({
      {"[breaker.crm]\nfailure_rate = 1.5", errc::config_bad_value,
       "node.toml: [breaker.\"crm\"] failure_rate: expected 0 (off), or over 0 and at "
       "most 1, got 1.5"},
      {"[breaker.crm]\nconsecutive_failures = -1", errc::config_bad_value,
       "node.toml: [breaker.\"crm\"] consecutive_failures: expected 0 (off) to "
       "1000000, "
       "got -1"},
      {"[breaker.crm]\nconsecutive_failures = 0", errc::config_bad_value,
       "node.toml: [breaker.\"crm\"] consecutive_failures: the breaker could never "
       "open: "
       "set consecutive_failures or failure_rate"},
      {"[breaker.crm]\nwindow = 0", errc::config_bad_value,
       "node.toml: [breaker.\"crm\"] window: expected 1 to 10000, got 0"},
      {"[breaker.crm]\nwindow = 5\nmin_calls = 6", errc::config_bad_value,
       "node.toml: [breaker.\"crm\"] min_calls: expected 1 to window (5), got 6"},
      {"[breaker.crm]\ncool_down_ms = 0", errc::config_bad_value,
       "node.toml: [breaker.\"crm\"] cool_down_ms: expected 1 to 86400000, got 0"},
      {"[breaker.crm]\ncool_down_ms = \"5s\"", errc::config_wrong_type,
       "node.toml: [breaker.\"crm\"] cool_down_ms: expected an integer (line 2)"},
      {"[breaker.crm]\nrequired = 1", errc::config_wrong_type,
       "node.toml: [breaker.\"crm\"] required: expected a boolean (line 2)"},
      {"[breaker.crm]\ncooldown = 5", errc::config_unknown_key,
       "node.toml: [breaker.\"crm\"] cooldown: unknown key (line 2)"},
      {"[breaker]\ncrm = 5", errc::config_wrong_type,
       "node.toml: [breaker.\"crm\"]: expected a table (line 2)"},
  });
}

TEST(guard_config, every_bad_tenants_value_names_file_section_and_key) {
  expect_refused({
      {"[tenants]\nbackend = \"memcached\"", errc::config_bad_value,
       "node.toml: [tenants] backend: expected \"local\" or \"redis\", got "
       "\"memcached\""},
      {"[tenants]\nredis = \"localhost\"", errc::config_bad_value,
       "node.toml: [tenants] redis: expected host:port with a port from 1 to 65535, "
       "got "
       "\"localhost\""},
      {"[tenants]\nredis = \":6379\"", errc::config_bad_value,
       "node.toml: [tenants] redis: expected host:port with a port from 1 to 65535, "
       "got "
       "\":6379\""},
      {"[tenants]\ndefault_rate = 0", errc::config_bad_value,
       "node.toml: [tenants] default_rate: expected a number over 0 and at most 1e9, "
       "got "
       "0"},
      {"[tenants]\ndefault_burst = 0.5", errc::config_bad_value,
       "node.toml: [tenants] default_burst: expected a number from 1 to 1e9, got 0.5"},
      {"[tenants]\nnodes = 0", errc::config_bad_value,
       "node.toml: [tenants] nodes: expected 1 to 10000, got 0"},
      {"[tenants]\nnodes = 2\nfallback_share = 0.5", errc::config_bad_value,
       "node.toml: [tenants] fallback_share: give nodes or fallback_share, not both"},
      {"[tenants]\nfallback_share = 1.5", errc::config_bad_value,
       "node.toml: [tenants] fallback_share: expected over 0 and at most 1, got 1.5"},
      {"[tenants]\ndefault_rate = \"fast\"", errc::config_wrong_type,
       "node.toml: [tenants] default_rate: expected a number (line 2)"},
      {"[tenants]\nlimit = 5", errc::config_unknown_key,
       "node.toml: [tenants] limit: unknown key (line 2)"},
      {"[tenants.limits.acme]\nrate = -3", errc::config_bad_value,
       "node.toml: [tenants.limits.\"acme\"] rate: expected a number over 0 and at "
       "most "
       "1e9, got -3"},
      {"[tenants.limits.acme]\nburst = 10", errc::config_bad_value,
       "node.toml: [tenants.limits.\"acme\"] rate: missing"},
      {"[tenants.limits.acme]\nrate = 5\nbursts = 10", errc::config_unknown_key,
       "node.toml: [tenants.limits.\"acme\"] bursts: unknown key (line 3)"},
      {"[tenants]\nlimits = 5", errc::config_wrong_type,
       "node.toml: [tenants] limits: expected a table of tenants (line 2)"},
      {"[tenants.limits]\nacme = 5", errc::config_wrong_type,
       "node.toml: [tenants.limits.\"acme\"]: expected a table with rate and burst "
       "(line "
       "2)"},
  });
}

TEST(guard_config, validate_checks_settings_made_in_code_with_the_same_rules) {
  breaker_settings s;
  s.failure_rate = -0.1;
  auto r = validate_breaker("crm", s, "code");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("[breaker.\"crm\"] failure_rate"), std::string::npos);
  tenants_config t;
  t.limits["acme"] = {5, 0};
  auto rt = validate_tenants(t, "code");
  ASSERT_FALSE(rt);
  EXPECT_EQ(
      rt.error().message(),
      "code: [tenants.limits.\"acme\"] burst: expected a number from 1 to 1e9, got 0");
}

} // namespace
