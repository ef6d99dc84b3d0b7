// What the topic bus refuses, on the deterministic scheduler: unknown topics, bad
// routing, bad subscriptions, envelopes a subscriber could not decode, full
// subscriptions, and Kafka publishes without a producer. Each refusal is a typed error
// that names what was wrong, and nothing is queued or lost because of it.

#include "bus/bus_test_fixture.hpp"

namespace phoenix::bus_test {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string text_of(const caf::error& err) {
  return runtime::describe(err);
}

TEST_F(bus_test, unknown_topic_is_refused_when_the_default_is_none) {
  auto cfg = config(std::nullopt);
  cfg.routes.in_process = {"audit"};
  auto b = make_bus(cfg);
  auto p = publish(b, "audti", "k", event("e0"));
  EXPECT_EQ(code_of(*p), bus::errc::unknown_topic);
  EXPECT_TRUE(contains(text_of(p->error), "publish to audti")) << text_of(p->error);
  auto s = subscribe(b, {"audti", "g", recorder("g")});
  EXPECT_EQ(code_of(*s), bus::errc::unknown_topic);
  EXPECT_TRUE(contains(text_of(s->error), "subscribe audti/g")) << text_of(s->error);

  must_subscribe(b, {"audit", "g", recorder("g")});
  auto ok = publish(b, "audit", "k", event("e0"));
  ASSERT_TRUE(ok->value) << text_of(ok->error);
  EXPECT_EQ(ok->value->offset, 0);
  EXPECT_EQ(stats->publish_errors.load(), 1u);
}

TEST_F(bus_test, bad_routing_fails_the_start_naming_file_and_key) {
  struct bad_case {
    std::vector<std::string> in_process, kafka;
    std::size_t max_pending;
    std::string expected;
  };
  std::vector<bad_case> cases = {
      {{"a", "b"}, {"b"}, 10, "test.toml: [bus] in_process: \"b\" is also listed in kafka"},
      {{"a", "a"}, {}, 10, "test.toml: [bus] in_process: \"a\" is listed twice"},
      {{}, {"no space"}, 10, "test.toml: [bus] kafka: \"no space\" is no valid topic name"},
      {{}, {""}, 10, "test.toml: [bus] kafka: a topic name must not be empty"},
      {{}, {}, 0, "test.toml: [bus] max_pending: expected 1 to 10000000, got 0"},
  };
  for (auto& c : cases) {
    auto cfg = config();
    cfg.routes.in_process = c.in_process;
    cfg.routes.kafka = c.kafka;
    cfg.routes.max_pending = c.max_pending;
    auto started = start_bus(cfg);
    ASSERT_FALSE(started.has_value()) << c.expected;
    EXPECT_EQ(started.error().code(), make_error_code(runtime::errc::config_bad_value));
    EXPECT_TRUE(contains(started.error().message(), c.expected))
        << started.error().message();
  }
}

TEST_F(bus_test, bad_subscriptions_are_refused_with_the_reason) {
  auto b = make_bus();
  must_subscribe(b, {"audit", "g", recorder("g")});
  struct bad_case {
    bus::subscription sub;
    bus::errc code;
    std::string expected;
  };
  std::vector<bad_case> cases = {
      {{"audit", "", recorder("x")},
       bus::errc::invalid_argument,
       "group must not be empty"},
      {{"audit", "x", kafka::record_handler{}},
       bus::errc::invalid_argument,
       "neither a function nor an actor"},
      {{"audit", "x", recorder("x"), 0}, bus::errc::invalid_argument, "got 0"},
      {{"audit", "x", recorder("x"), 257}, bus::errc::invalid_argument, "1 to 256"},
      {{"au dit", "x", recorder("x")}, bus::errc::invalid_argument, "no valid topic name"},
      {{"audit", "g", recorder("x")},
       bus::errc::already_subscribed,
       "subscribe audit/g: subscription #1 has that topic and group"},
  };
  for (auto& c : cases) {
    auto a = subscribe(b, c.sub);
    ASSERT_TRUE(a->came);
    EXPECT_EQ(code_of(*a), c.code) << text_of(a->error);
    EXPECT_TRUE(contains(text_of(a->error), c.expected)) << text_of(a->error);
  }
}

TEST_F(bus_test, refused_initial_subscription_fails_the_start) {
  auto cfg = config();
  cfg.subscriptions.push_back({"audit", "g", recorder("a")});
  cfg.subscriptions.push_back({"audit", "g", recorder("b")});
  auto started = start_bus(cfg);
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code(), make_error_code(bus::errc::already_subscribed));
}

TEST_F(bus_test, envelope_a_subscriber_could_not_decode_is_refused_and_nothing_queued) {
  auto b = make_bus();
  must_subscribe(b, {"audit", "g", recorder("g")});
  auto no_id = event("");
  auto bad_utf8 = event("e\xff");
  auto shadowing = event("e1");
  shadowing.extensions.push_back({"ce_id", "other"}); // would duplicate the mapped header
  for (auto& env : {no_id, bad_utf8, shadowing}) {
    auto p = publish(b, "audit", "k", env);
    EXPECT_EQ(code_of(*p), bus::errc::invalid_envelope) << text_of(p->error);
    EXPECT_TRUE(contains(text_of(p->error), "publish to audit: ")) << text_of(p->error);
  }
  EXPECT_TRUE(seen->empty());
  auto ok = publish(b, "audit", "k", event("e1"));
  ASSERT_TRUE(ok->value);
  EXPECT_EQ(ok->value->offset, 0) << "a refused record used a sequence number";
  EXPECT_EQ(ids_seen_by("g"), std::vector<std::string>{"e1"});
}

TEST_F(bus_test, full_subscription_refuses_the_record_for_every_subscriber) {
  auto cfg = config();
  cfg.routes.max_pending = 2;
  auto b = make_bus(cfg);
  auto [h, st] = spawn_holder("slow");
  must_subscribe(b, {"audit", "slow", kafka::handler::from_actor(h, 5s)});
  must_subscribe(b, {"audit", "fast", recorder("fast")});
  ASSERT_TRUE(publish(b, "audit", "k", event("e0"))->value);
  ASSERT_TRUE(publish(b, "audit", "k", event("e1"))->value);
  auto full = publish(b, "audit", "k", event("e2"));
  EXPECT_EQ(code_of(*full), bus::errc::subscriber_full);
  EXPECT_TRUE(
      contains(text_of(full->error), "subscription audit/slow has 2 records pending"))
      << text_of(full->error);
  EXPECT_EQ(ids_seen_by("fast"), (std::vector<std::string>{"e0", "e1"}));

  answer_held(h); // room for one more
  auto next = publish(b, "audit", "k", event("e2"));
  ASSERT_TRUE(next->value) << text_of(next->error);
  EXPECT_EQ(next->value->offset, 2);
  EXPECT_EQ(ids_seen_by("fast"), (std::vector<std::string>{"e0", "e1", "e2"}));
}

TEST_F(bus_test, kafka_publish_without_a_running_producer_is_refused) {
  auto b = make_bus(config(topic_route::kafka));
  auto p = publish(b, "orders", "k", event("e0"));
  EXPECT_EQ(code_of(*p), bus::errc::producer_unavailable);
  EXPECT_TRUE(
      contains(text_of(p->error), "publish to orders: no producer has been started"))
      << text_of(p->error);

  // A slot naming a producer that has exited.
  auto slot = std::make_shared<runtime::actor_slot>();
  auto gone = sys.spawn([](caf::event_based_actor* self) { self->quit(); });
  run();
  slot->set(gone);
  auto started = bus::bus_child("bus2", config(topic_route::kafka), slot, stats).start(sys);
  ASSERT_TRUE(started.has_value());
  keep_.push_back(*started);
  auto p2 = publish(*started, "orders", "k", event("e0"));
  EXPECT_EQ(code_of(*p2), bus::errc::producer_unavailable) << text_of(p2->error);
}

TEST_F(bus_test, malformed_topic_name_is_refused) {
  auto b = make_bus();
  auto p = publish(b, "with space", "k", event("e0"));
  EXPECT_EQ(code_of(*p), bus::errc::invalid_argument);
  EXPECT_TRUE(contains(text_of(p->error), "\"with space\" is no valid topic name"))
      << text_of(p->error);
}

} // namespace
} // namespace phoenix::bus_test
