// Circuit breaker and tenant rate limits on a group consumer, on the mock cluster: a
// failing downstream opens its breaker and pauses its partitions (nothing consumed or
// handled while open), and the breaker closes when the downstream is back, with every
// record handled; a tenant at its limit waits in its own partition while another
// tenant's records on the other partitions are all handled.

#include "consumer_fixture.hpp"
#include "phoenix/actors/kafka/consumer_probe.hpp"
#include "phoenix/actors/policies/admission.hpp"

#include <atomic>
#include <caf/event_based_actor.hpp>

namespace phoenix::itest {
namespace {

// The breakers' clock, moved by the test (lanes and the consumer read it on their
// threads).
struct shared_clock {
  std::shared_ptr<std::atomic<std::int64_t>> ns =
      std::make_shared<std::atomic<std::int64_t>>(0);
  policies::clock_fn fn() const {
    return [ns = ns] {
      return policies::clock::time_point{std::chrono::nanoseconds{ns->load()}};
    };
  }
  void advance(std::chrono::milliseconds d) const {
    ns->fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  }
};

// The CRM as a handler sees it: down (every call fails) or up; calls counted.
struct crm_state {
  std::atomic<bool> down{true};
  std::atomic<int> calls{0};
};

class consumer_guard_test : public group_consumer_test {
protected:
  // Produces one event of `tenant` to `partition` (keys chosen so librdkafka's default
  // partitioner puts them there).
  void produce_to(kafka::producer& p, int partition, const std::string& id,
                  const std::string& tenant) {
    std::string key;
    for (int i = 0;; ++i) {
      key = id + "/" + std::to_string(i);
      if (rd_kafka_msg_partitioner_consistent(nullptr, key.data(), key.size(), partitions,
                                              nullptr, nullptr) == partition)
        break;
    }
    runtime::envelope env;
    env.id = id;
    env.source = "/test";
    env.type = "lead.detected";
    env.tenant_id = tenant;
    env.payload = "{}";
    ASSERT_TRUE(p.produce(topic, key, env.payload, runtime::encode_headers(env)));
  }

  std::uint64_t consumed() const { return stats->consumed.load(); }

  void breaker_scenario(kafka::handler h, crm_state& crm, shared_clock& clock,
                        std::shared_ptr<policies::admission> admission);
};

// The scenario of the breaker tests, for a function or an actor handler `h`.
void consumer_guard_test::breaker_scenario(kafka::handler h, crm_state& crm,
                                           shared_clock& clock,
                                           std::shared_ptr<policies::admission> admission) {
  auto breaker = admission->breakers->of("crm");
  auto& calls = crm.calls;
  auto& down = crm.down;
  auto cfg = config();
  cfg.admission = admission;
  produce_events(0, 30);
  start(h.downstream("crm"), cfg);

  ASSERT_TRUE(
      eventually([&] { return breaker->state() == policies::breaker_state::open; }));
  ASSERT_TRUE(eventually([&] { return stats->breaker_paused.load() == partitions; }))
      << "every partition feeding the downstream is paused";
  observability::metrics_registry metrics;
  kafka::consumer_probe probe{metrics};
  probe.add("orders", stats);
  EXPECT_NE(
      metrics.render().find("phoenix_breaker_paused_partitions{consumer=\"orders\"} 3"),
      std::string::npos);
  // The third failure opens it; a lane admitted just before may finish its call (one
  // lane per partition, so at most one call each), none starts after.
  auto calls_at_open = calls.load();
  EXPECT_GE(calls_at_open, 3);
  EXPECT_LE(calls_at_open, 3 + partitions - 1);
  auto consumed_at_open = consumed();

  // While it is open: new records are not fetched and nothing reaches the handler.
  produce_events(30, 30);
  std::this_thread::sleep_for(1500ms); // an observation window, not a measured bound
  EXPECT_EQ(consumed(), consumed_at_open);
  EXPECT_EQ(calls.load(), calls_at_open);
  EXPECT_EQ(stats->rejected.load(), 0u) << "nothing given up while the breaker is open";
  EXPECT_EQ(breaker->state(), policies::breaker_state::open);

  // The downstream is back and the cool-down passes: one probe, then everything.
  down = false;
  clock.advance(1000ms);
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 60; }))
      << seen->done_count() << " of 60 handled";
  EXPECT_EQ(breaker->state(), policies::breaker_state::closed);
  EXPECT_EQ(breaker->transitions(policies::breaker_state::open), 1u);
  EXPECT_EQ(breaker->transitions(policies::breaker_state::half_open), 1u);
  EXPECT_EQ(breaker->transitions(policies::breaker_state::closed), 1u);
  EXPECT_EQ(stats->rejected.load(), 0u);
  EXPECT_EQ(stats->handled.load(), 60u);
  EXPECT_EQ(stats->breaker_paused.load(), 0);
  EXPECT_EQ(calls.load(), calls_at_open + 60) << "the failed calls, then each record once";
  ASSERT_TRUE(eventually([&] {
    for (auto& [p, offsets] : committed_and_end())
      if (offsets.first != offsets.second)
        return false;
    return true;
  }));
}

std::shared_ptr<policies::admission> crm_breaker(shared_clock& clock) {
  runtime::node_config node;
  runtime::breaker_settings crm;
  crm.consecutive_failures = 3;
  crm.cool_down = std::chrono::milliseconds{1000};
  node.breakers["crm"] = crm;
  return policies::make_admission(node, clock.fn());
}

TEST_F(consumer_guard_test, a_failing_downstream_opens_the_breaker_pauses_and_recovers) {
  shared_clock clock;
  auto crm = std::make_shared<crm_state>();
  auto log = seen;
  kafka::handler h = [crm, log](const runtime::envelope_view& env,
                                const kafka::record_view&) {
    ++crm->calls;
    if (crm->down)
      return kafka::handler_status::retry; // the CRM does not answer
    return record_done(*log, env);
  };
  breaker_scenario(h, *crm, clock, crm_breaker(clock));
}

TEST_F(consumer_guard_test, an_actor_handler_opens_and_closes_the_breaker_the_same_way) {
  shared_clock clock;
  auto crm = std::make_shared<crm_state>();
  auto log = seen;
  auto actor = sys->spawn([crm, log](caf::event_based_actor*) -> caf::behavior {
    return {[crm, log](kafka::handle_atom, const runtime::envelope& env,
                       const kafka::record_position&) {
      ++crm->calls;
      if (crm->down)
        return kafka::handler_status::retry;
      log->add(env.id, true);
      return kafka::handler_status::done;
    }};
  });
  breaker_scenario(kafka::handler::from_actor(actor, 5s), *crm, clock, crm_breaker(clock));
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_F(consumer_guard_test, a_tenant_at_its_limit_does_not_hold_up_other_tenants) {
  runtime::node_config node;
  node.tenants.enabled = true;
  node.tenants.default_limit = {100000, 100000};
  node.tenants.limits["slow"] = {5, 1}; // 5 records a second, no burst
  auto admission = policies::make_admission(node);

  std::mutex mtx;
  std::vector<std::string> order; // tenants in handling order
  auto log = seen;
  kafka::handler h = [&, log](const runtime::envelope_view& env,
                              const kafka::record_view&) {
    {
      std::lock_guard<std::mutex> g{mtx};
      order.emplace_back(*env.tenant_id);
    }
    return record_done(*log, env);
  };
  {
    auto p = kafka::producer::create(client_properties(), "test");
    ASSERT_TRUE(p.has_value());
    for (int i = 0; i < 20; ++i) // the slow tenant: all on partition 0, first in the log
      produce_to(*p, 0, "slow-" + std::to_string(i), "slow");
    for (int i = 0; i < 60; ++i) // the other tenant: on partitions 1 and 2
      produce_to(*p, 1 + i % 2, "fast-" + std::to_string(i), "fast");
    ASSERT_TRUE(p->flush(10s));
  }
  auto cfg = config();
  cfg.admission = admission;
  start(h, cfg);

  auto count = [&](const std::string& tenant) {
    std::lock_guard<std::mutex> g{mtx};
    return static_cast<int>(std::count(order.begin(), order.end(), tenant));
  };
  ASSERT_TRUE(eventually([&] { return count("fast") == 60; }));
  EXPECT_LT(count("slow"), 20) << "the slow tenant is still waiting for tokens";
  ASSERT_TRUE(eventually([&] { return count("slow") == 20; })) << "and gets through";
  EXPECT_EQ(seen->done_count(), 80u);
  std::map<std::string, std::uint64_t> throttled;
  admission->tenants->for_each_tenant(
      [&](const std::string& t, std::uint64_t n) { throttled[t] = n; });
  EXPECT_EQ(throttled["fast"], 0u);
  EXPECT_GE(throttled["slow"], 18u) << "all but the first record (burst 1) waited";
}

} // namespace
} // namespace phoenix::itest
