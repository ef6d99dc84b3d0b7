// Tenant rate limits with the Redis backend against a real Redis 7 (started once for the
// binary through deploy/redis/redis-temp.sh): two nodes sharing one limit, and a Redis
// that stops in the middle of a run.

#include "consumer_fixture.hpp"
#include "phoenix/actors/policies/guard_probe.hpp"
#include "phoenix/actors/policies/redis_limiter.hpp"
#include "policies/redis.hpp"
#include "redis_temp.hpp"

#include <atomic>
#include <caf/send.hpp>
#include <random>

namespace phoenix::itest {
namespace {

auto* const server =
    ::testing::AddGlobalTestEnvironment(new redis_temp{PHOENIX_REDIS_TEMP});

runtime::tenants_config redis_tenants() {
  runtime::tenants_config t;
  t.enabled = true;
  t.backend = runtime::limit_backend::redis;
  t.redis_host = redis_temp::get().host();
  t.redis_port = redis_temp::get().port();
  t.fallback_share = 0.5; // two nodes
  return t;
}

policies::redis_limiter_config limiter_config(const runtime::tenants_config& t,
                                              const std::string& prefix) {
  auto c = policies::redis_limiter_config::from(t);
  c.key_prefix = prefix;
  c.retry_max = std::chrono::milliseconds{500};
  return c;
}

std::string unique_prefix() {
  std::random_device rd;
  return "phoenix:test:" + std::to_string(rd()) + ":";
}

// Stops the limiter actors however the test ends (a live detached actor would keep the
// actor system from shutting down).
struct stopping {
  std::vector<caf::actor> actors;
  ~stopping() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

double field(policies::redis_connection& c, const std::string& key, const char* name) {
  auto v = c.hget(key, name);
  EXPECT_TRUE(v.has_value()) << v.error().message();
  return v && !v->empty() ? std::stod(*v) : -1;
}

TEST(rate_limit_redis,
     two_nodes_sharing_a_limit_together_get_the_global_rate_within_10_percent) {
  auto t = redis_tenants();
  t.limits["acme"] = {200, 20};
  auto prefix = unique_prefix();
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  std::vector<std::shared_ptr<policies::tenant_limiter>> nodes;
  stopping actors;
  for (int i = 0; i < 2; ++i) { // two nodes: each its limiter and Redis connection
    nodes.push_back(std::make_shared<policies::tenant_limiter>(t));
    actors.actors.push_back(
        policies::spawn_redis_limiter(sys, nodes.back(), limiter_config(t, prefix)));
  }
  std::atomic<bool> run{true};
  std::vector<std::uint64_t> taken(2, 0);
  std::vector<std::thread> threads;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      while (run) {
        auto wait = nodes[i]->acquire("acme");
        if (wait == policies::clock::duration::zero())
          ++taken[i];
        else
          std::this_thread::sleep_for(wait);
      }
    });
  std::this_thread::sleep_for(2s);
  run = false;
  for (auto& th : threads)
    th.join();
  auto wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_FALSE(nodes[0]->fallback());
  EXPECT_FALSE(nodes[1]->fallback());

  auto conn = policies::redis_connection::connect(t.redis_host, t.redis_port, 2000ms);
  ASSERT_TRUE(conn.has_value()) << conn.error().message();
  auto key = prefix + "acme";
  double granted = field(*conn, key, "granted");
  double created = field(*conn, key, "created");
  double last = field(*conn, key, "last");
  double elapsed = (last - created) / 1e6; // Redis's clock
  double allowed = 200 * elapsed + 20;
  auto total = taken[0] + taken[1];
  EXPECT_GT(taken[0], 0u);
  EXPECT_GT(taken[1], 0u);
  EXPECT_LE(static_cast<double>(total), granted) << "a node uses only what Redis leased it";
  EXPECT_LE(granted, allowed + 1e-6)
      << "Redis never grants more than rate x elapsed + burst";
  // And the two together get the global rate, not less: within 10% below the bound over
  // Redis's own span from the first grant to the last (both nodes ask all the time, and
  // a node's unused lease is at most a few tokens).
  EXPECT_GE(static_cast<double>(total), 0.9 * allowed)
      << "two nodes asking all the time took less than 90% of the global rate";
  std::printf("rate_limit_redis: 2 nodes took %llu + %llu = %llu tokens in %.3f s (Redis "
              "clock; %.3f s wall); Redis granted %.0f of rate x elapsed + burst = %.1f "
              "(%+.1f%%); taken / (rate x wall) = %.3f\n",
              static_cast<unsigned long long>(taken[0]),
              static_cast<unsigned long long>(taken[1]),
              static_cast<unsigned long long>(total), elapsed, wall, granted, allowed,
              (static_cast<double>(total) / allowed - 1) * 100,
              static_cast<double>(total) / (200 * wall));
}

class redis_outage_test : public group_consumer_test {};

TEST_F(redis_outage_test,
       redis_stopped_mid_run_falls_back_locally_and_returns_nothing_lost) {
  auto t = redis_tenants();
  t.default_limit = {400, 40};
  auto prefix = unique_prefix();
  auto limiter = std::make_shared<policies::tenant_limiter>(t);
  auto admission = std::make_shared<policies::admission>();
  admission->tenants = limiter;
  observability::metrics_registry metrics;
  policies::guard_probe probe{metrics, admission};
  stopping actors{
      {policies::spawn_redis_limiter(*sys, limiter, limiter_config(t, prefix))}};

  constexpr int total = 3000; // 400/s: about 7 s with the fallback at half of it
  {
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value());
    for (int i = 0; i < total; ++i) {
      runtime::envelope env;
      env.id = "lead-" + std::to_string(i);
      env.source = "/test";
      env.type = "lead.detected";
      env.tenant_id = "acme";
      env.payload = "{}";
      ASSERT_TRUE(p->produce(topic, env.id, env.payload, runtime::encode_headers(env)));
    }
    ASSERT_TRUE(p->flush(10s));
  }
  auto log = seen;
  auto cfg = config();
  cfg.admission = admission;
  start([log](const runtime::envelope_view& env,
              const kafka::record_view&) { return record_done(*log, env); },
        cfg);
  auto has = [&](const std::string& line) {
    return metrics.render().find(line) != std::string::npos;
  };
  ASSERT_TRUE(eventually([&] { return seen->done_count() >= 200; }));
  EXPECT_TRUE(has("phoenix_rate_limit_fallback 0"));

  redis_temp::get().stop();
  ASSERT_TRUE(eventually([&] { return limiter->fallback(); })) << "Redis loss noticed";
  EXPECT_TRUE(has("phoenix_rate_limit_fallback 1"));
  auto at_fallback = seen->done_count();
  ASSERT_TRUE(eventually([&] { return seen->done_count() >= at_fallback + 200; }))
      << "records go on with the local share";

  redis_temp::get().start();
  ASSERT_TRUE(eventually([&] { return !limiter->fallback(); })) << "back to Redis";
  EXPECT_TRUE(has("phoenix_rate_limit_fallback 0"));
  EXPECT_TRUE(has("phoenix_rate_limit_fallbacks_total 1"));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == total; }))
      << seen->done_count() << " of " << total;
  EXPECT_EQ(stats->handled.load(), static_cast<std::uint64_t>(total));
  EXPECT_EQ(stats->rejected.load(), 0u);
  auto conn = policies::redis_connection::connect(t.redis_host, t.redis_port, 2000ms);
  ASSERT_TRUE(conn.has_value());
  EXPECT_GT(field(*conn, prefix + "acme", "granted"), 0) << "leases from the new server";
}

} // namespace
} // namespace phoenix::itest
