// The topic bus on librdkafka's mock cluster: one subscriber receives the same envelopes
// (and positions matching the publisher's receipts) whether a topic is routed through
// Kafka or in-process; publish errors reach the publisher; a Kafka subscription commits
// when unsubscribed and its group resumes after it; a consumer that cannot start is
// named with its key.

#include "phoenix/actors/bus/bus.hpp"

#include "consumer_fixture.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"

#include <algorithm>
#include <caf/event_based_actor.hpp>

namespace phoenix::itest {
namespace {

constexpr auto bound = 30s; // keeps a broken build from hanging; nothing measures it

// What a subscriber saw, in the order it saw it.
struct delivery_log {
  std::mutex mtx;
  std::vector<std::pair<runtime::envelope, kafka::record_position>> records;

  std::size_t size() {
    std::lock_guard<std::mutex> g{mtx};
    return records.size();
  }
};

// The subscriber under test: the same code serves both routes.
caf::behavior recording_subscriber(caf::event_based_actor*,
                                   std::shared_ptr<delivery_log> log) {
  return {[log](kafka::handle_atom, const runtime::envelope& env,
                const kafka::record_position& pos) {
    std::lock_guard<std::mutex> g{log->mtx};
    log->records.emplace_back(env, pos);
    return kafka::handler_status::done;
  }};
}

// An event with every envelope field set, binary bytes in an extension and the payload.
runtime::envelope rich_event(int i) {
  runtime::envelope env;
  env.id = "lead-" + std::to_string(i);
  env.source = "/radar";
  env.type = "lead.detected";
  env.subject = "lead/" + std::to_string(i);
  env.time = "2024-05-01T12:00:00Z";
  env.tenant_id = "tenant-" + std::to_string(i % 3);
  env.idempotency_key = "idem-" + std::to_string(i);
  env.trace = runtime::trace_context::parse(
                  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                  .value();
  env.extensions = {{"ce_partitionkey", "k"}, {"x-bytes", std::string("\0\x01\xff", 3)}};
  env.payload = "{\"lead\":" + std::to_string(i) + "}" + std::string("\0", 1);
  return env;
}

std::string key_of(int i) {
  return "key-" + std::to_string(i % 4);
}

class bus_itest : public group_consumer_test {
protected:
  const std::string local_topic = "orders.local";
  std::shared_ptr<runtime::actor_slot> producer_slot =
      std::make_shared<runtime::actor_slot>();
  std::shared_ptr<runtime::actor_slot> bus_slot = std::make_shared<runtime::actor_slot>();
  std::shared_ptr<bus::bus_stats> bus_stats = std::make_shared<bus::bus_stats>();
  std::vector<caf::actor> subscribers;

  void TearDown() override {
    stop();
    for (auto& s : subscribers)
      caf::anon_send_exit(s, caf::exit_reason::kill);
    subscribers.clear();
    group_consumer_test::TearDown();
  }

  bus::bus_config bus_config() {
    bus::bus_config cfg;
    cfg.origin = "test";
    cfg.routes.in_process = {local_topic};
    cfg.consumer = config(); // bootstrap.servers, short group timeouts
    return cfg;
  }

  kafka::producer_config producer_config() {
    kafka::producer_config cfg;
    cfg.properties = client_properties();
    cfg.properties["linger.ms"] = "5";
    cfg.origin = "test";
    return cfg;
  }

  // The node's kafka supervisor as the node builds it: producer, then the bus.
  result<caf::actor> start_node(bus::bus_config bcfg, kafka::producer_config pcfg) {
    runtime::supervisor_spec spec;
    spec.name = "kafka";
    spec.strategy = runtime::restart_strategy::rest_for_one;
    spec.children.push_back(
        runtime::track(kafka::producer_child("producer", std::move(pcfg)), producer_slot));
    spec.children.push_back(runtime::track(
        bus::bus_child("bus", std::move(bcfg), producer_slot, bus_stats), bus_slot));
    auto r = runtime::start_supervisor(*sys, std::move(spec));
    if (r)
      root = *r;
    return r;
  }

  kafka::handler subscriber(std::shared_ptr<delivery_log> log) {
    auto a = sys->spawn(recording_subscriber, std::move(log));
    subscribers.push_back(a);
    return kafka::handler::from_actor(a, 10s);
  }

  result<bus::subscription_id> subscribe(const std::string& topic, kafka::handler h) {
    return bus::subscribe_sync(*sys, bus_slot->get(), {topic, "audit", std::move(h)},
                               bound);
  }

  result<bus::receipt> publish(const std::string& topic, int i) {
    return bus::publish_sync(*sys, bus_slot->get(), topic, key_of(i), rich_event(i), bound);
  }
};

TEST_F(bus_itest, one_subscriber_gets_the_same_envelopes_through_kafka_and_in_process) {
  ASSERT_TRUE(start_node(bus_config(), producer_config()).has_value());
  auto log = std::make_shared<delivery_log>();
  auto handler = subscriber(log);
  for (auto t : {topic, local_topic}) {
    auto id = subscribe(t, handler);
    ASSERT_TRUE(id.has_value()) << id.error().describe();
  }
  constexpr int n = 40;
  std::map<std::string, std::map<std::string, bus::receipt>> receipts; // topic, id
  for (int i = 0; i < n; ++i) {
    for (auto t : {topic, local_topic}) {
      auto r = publish(t, i);
      ASSERT_TRUE(r.has_value()) << r.error().describe();
      receipts[t]["lead-" + std::to_string(i)] = *r;
    }
  }
  ASSERT_TRUE(eventually([&] { return log->size() == 2 * n; }));

  std::lock_guard<std::mutex> g{log->mtx};
  for (auto t : {topic, local_topic}) {
    auto route =
        t == topic ? runtime::topic_route::kafka : runtime::topic_route::in_process;
    std::map<std::string, std::vector<std::string>> per_key;
    std::set<std::string> ids;
    for (auto& [env, pos] : log->records) {
      if (pos.topic != t)
        continue;
      auto i = std::stoi(env.id.substr(5));
      EXPECT_EQ(env, rich_event(i)) << t << " changed " << env.id;
      EXPECT_TRUE(ids.insert(env.id).second) << t << " handed " << env.id << " twice";
      const auto& r = receipts[t].at(env.id);
      EXPECT_EQ(r.route, route);
      EXPECT_EQ(pos.partition, r.partition) << t << " " << env.id;
      EXPECT_EQ(pos.offset, r.offset) << t << " " << env.id;
      per_key[key_of(i)].push_back(env.id);
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(n)) << t;
    for (auto& [key, seen_ids] : per_key)
      EXPECT_TRUE(std::is_sorted(seen_ids.begin(), seen_ids.end(),
                                 [](const std::string& a, const std::string& b) {
                                   return std::stoi(a.substr(5)) < std::stoi(b.substr(5));
                                 }))
          << t << ": key " << key << " out of publish order";
  }
  for (auto& [id, r] : receipts[local_topic])
    EXPECT_EQ(r.partition, bus::in_process_partition);
  for (auto& [id, r] : receipts[topic])
    EXPECT_GE(r.partition, 0);
}

TEST_F(bus_itest, kafka_delivery_failure_reaches_the_publisher_as_a_typed_error) {
  PHOENIX_MOCK_ONLY();
  auto pcfg = producer_config();
  pcfg.properties["message.timeout.ms"] = "1000";
  // Reconnects soon after broker_up(), well within a message's timeout.
  pcfg.properties["reconnect.backoff.ms"] = "10";
  pcfg.properties["reconnect.backoff.max.ms"] = "100";
  ASSERT_TRUE(start_node(bus_config(), pcfg).has_value());
  for (int b = 1; b <= 3; ++b)
    ASSERT_TRUE(mock()->broker_down(b));

  auto failed = publish(topic, 0);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), make_error_code(bus::errc::delivery_failed));
  EXPECT_NE(failed.error().message().find("publish to " + topic + ": "), std::string::npos)
      << failed.error().message();
  EXPECT_NE(failed.error().message().find("Message timed out"), std::string::npos)
      << failed.error().message();
  EXPECT_EQ(bus_stats->publish_errors.load(), 1u);

  for (int b = 1; b <= 3; ++b)
    ASSERT_TRUE(mock()->broker_up(b));
  auto ok = publish(topic, 1);
  ASSERT_TRUE(ok.has_value()) << ok.error().describe();
  EXPECT_EQ(ok->route, runtime::topic_route::kafka);
}

TEST_F(bus_itest, unsubscribed_kafka_subscription_has_committed_and_its_group_resumes) {
  ASSERT_TRUE(start_node(bus_config(), producer_config()).has_value());
  auto log = std::make_shared<delivery_log>();
  auto first = subscribe(topic, subscriber(log));
  ASSERT_TRUE(first.has_value()) << first.error().describe();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(publish(topic, i).has_value());
  ASSERT_TRUE(eventually([&] { return log->size() == 20; }));
  auto gone = bus::unsubscribe_sync(*sys, bus_slot->get(), *first, bound);
  ASSERT_TRUE(gone.has_value()) << gone.error().describe();
  for (auto& [partition, offsets] : committed_and_end("audit")) {
    if (offsets.second > 0) // a partition no key went to has nothing to commit
      EXPECT_EQ(offsets.first, offsets.second) << "partition " << partition;
  }

  for (int i = 20; i < 30; ++i)
    ASSERT_TRUE(publish(topic, i).has_value());
  auto second = subscribe(topic, subscriber(log));
  ASSERT_TRUE(second.has_value()) << second.error().describe();
  ASSERT_TRUE(eventually([&] { return log->size() >= 30; }));
  std::lock_guard<std::mutex> g{log->mtx};
  std::set<std::string> ids;
  for (auto& [env, pos] : log->records)
    EXPECT_TRUE(ids.insert(env.id).second) << env.id << " handed twice";
  EXPECT_EQ(ids.size(), 30u);
}

TEST_F(bus_itest,
       kafka_subscription_whose_consumer_cannot_start_is_refused_naming_the_key) {
  auto bcfg = bus_config();
  bcfg.consumer.properties["session.timeout.ms"] = "soon";
  ASSERT_TRUE(start_node(bcfg, producer_config()).has_value());
  auto refused = subscribe(topic, subscriber(std::make_shared<delivery_log>()));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), make_error_code(bus::errc::subscribe_failed));
  EXPECT_NE(refused.error().message().find("test: [kafka] session.timeout.ms"),
            std::string::npos)
      << refused.error().message();
  // An in-process topic does not need the consumer.
  EXPECT_TRUE(subscribe(local_topic, subscriber(std::make_shared<delivery_log>())));
  stop();

  bcfg.subscriptions.push_back(
      {topic, "audit", subscriber(std::make_shared<delivery_log>())});
  auto start = start_node(bcfg, producer_config());
  ASSERT_FALSE(start.has_value());
  EXPECT_NE(start.error().message().find("test: [kafka] session.timeout.ms"),
            std::string::npos)
      << start.error().message();
}

} // namespace
} // namespace phoenix::itest
