// In-process routing of the topic bus on the deterministic scheduler: fan-out, per-key
// order under key concurrency, unsubscribe, the topic's [policy] as the consumer applies
// it (crashes, backoff on virtual time, the DLQ through the bus), the drain on stop, and
// subscriptions that outlive a restart of the bus.

#include "bus/bus_test_fixture.hpp"
#include "phoenix/actors/policies/retry.hpp"

#include <map>
#include <set>

namespace phoenix::bus_test {
namespace {

// The key an event id "k<n>-<round>" was published with.
std::string key_of(const std::string& id) {
  return id.substr(0, id.find('-'));
}

TEST_F(bus_test, fans_out_every_record_to_every_subscription_in_publish_order) {
  auto b = make_bus();
  must_subscribe(b, {"audit", "a", recorder("a")});
  must_subscribe(b, {"audit", "b", recorder("b")});
  auto [h, st] = spawn_holder("c");
  must_subscribe(b, {"audit", "c", kafka::handler::from_actor(h, 5s)});
  std::vector<std::string> ids = {"e0", "e1", "e2"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto r = publish(b, "audit", "key-" + std::to_string(i % 2), event(ids[i]));
    ASSERT_TRUE(r->value) << runtime::describe(r->error);
    EXPECT_EQ(r->value->route, topic_route::in_process);
    EXPECT_EQ(r->value->partition, bus::in_process_partition);
    EXPECT_EQ(r->value->offset, static_cast<std::int64_t>(i));
  }
  while (!st->waiting.empty())
    answer_held(h);
  for (auto name : {"a", "b", "c"})
    EXPECT_EQ(ids_seen_by(name), ids) << name;
  for (auto& r : *seen) {
    auto n = std::stoi(r.env.id.substr(1));
    EXPECT_EQ(r.env, event(r.env.id)) << r.handler;
    EXPECT_EQ(r.pos.topic, "audit");
    EXPECT_EQ(r.pos.partition, bus::in_process_partition);
    EXPECT_EQ(r.pos.offset, n);
  }
  EXPECT_EQ(stats->published.load(), 3u);
  EXPECT_EQ(stats->handled.load(), 9u);
}

TEST_F(bus_test, records_of_one_key_stay_in_order_while_other_keys_run_at_once) {
  auto b = make_bus();
  auto [h, st] = spawn_holder("h");
  must_subscribe(b, {"audit", "h", kafka::handler::from_actor(h, 5s), 4});
  std::map<std::string, std::vector<std::string>> published;
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 6; ++k) {
      auto id = "k" + std::to_string(k) + "-" + std::to_string(round);
      ASSERT_TRUE(publish(b, "audit", key_of(id), event(id))->value);
      published[key_of(id)].push_back(id);
    }
  }
  EXPECT_GT(st->max_waiting, 1u) << "no two keys were in flight at once";
  // Answer the newest held record first, so records finish out of publish order.
  while (!st->waiting.empty()) {
    std::set<std::string> keys;
    for (auto& r : st->waiting)
      EXPECT_TRUE(keys.insert(key_of(r.env.id)).second)
          << "two records of key " << key_of(r.env.id) << " in flight at once";
    answer_held(h, st->waiting.size() - 1);
  }
  std::map<std::string, std::vector<std::string>> handed;
  for (auto& r : *seen)
    handed[key_of(r.env.id)].push_back(r.env.id);
  EXPECT_EQ(handed, published);
}

TEST_F(bus_test, unsubscribe_waits_for_the_call_in_flight_and_drops_the_rest) {
  auto b = make_bus();
  auto [h, st] = spawn_holder("h");
  auto id = must_subscribe(b, {"audit", "h", kafka::handler::from_actor(h, 5s)});
  ASSERT_TRUE(publish(b, "audit", "k", event("e0"))->value);
  ASSERT_TRUE(publish(b, "audit", "k", event("e1"))->value);
  ASSERT_EQ(st->waiting.size(), 1u);

  auto done = ask<void>(b, bus::unsubscribe_atom::value, id);
  EXPECT_FALSE(done->came) << "answered while e0 was still in the handler";
  answer_held(h);
  ASSERT_TRUE(done->came);
  EXPECT_TRUE(done->ok) << runtime::describe(done->error);
  EXPECT_EQ(ids_seen_by("h"), std::vector<std::string>{"e0"});
  EXPECT_EQ(stats->dropped.load(), 1u);

  ASSERT_TRUE(publish(b, "audit", "k", event("e2"))->value);
  EXPECT_EQ(ids_seen_by("h"), std::vector<std::string>{"e0"});
  EXPECT_EQ(stats->unheard.load(), 1u);
  auto again = ask<void>(b, bus::unsubscribe_atom::value, id);
  EXPECT_EQ(code_of(*again), bus::errc::unknown_subscription);
}

TEST_F(bus_test, retries_and_crashes_follow_the_group_consumers_rules) {
  auto cfg = config();
  cfg.consumer.policies.fallback.dlq = false; // given up: logged and counted as rejected
  auto b = make_bus(cfg);
  auto calls = std::make_shared<std::map<std::string, int>>();
  auto order = std::make_shared<std::vector<std::string>>();
  kafka::record_handler fn = [calls, order](const runtime::envelope_view& view,
                                            const kafka::record_view&) {
    auto env = view.to_envelope();
    auto n = ++(*calls)[env.id];
    order->push_back(env.id);
    if (env.id == "poison")
      throw std::runtime_error("always fails");
    if (env.id == "crash-once" && n == 1)
      throw std::runtime_error("fails once");
    if (env.id == "retry-once" && n == 1)
      return kafka::handler_status::retry;
    if (env.id == "retry-always")
      return kafka::handler_status::retry;
    return kafka::handler_status::done;
  };
  must_subscribe(b, {"audit", "f", fn});
  for (auto id : {"poison", "retry-once", "crash-once", "retry-always", "fine"})
    ASSERT_TRUE(publish(b, "audit", "one-key", event(id))->value);
  // Crashes are tried again at once (the restart is the pause); a retry waits for its
  // backoff, a timer.
  EXPECT_EQ(*order, (std::vector<std::string>{"poison", "poison", "poison", "retry-once"}));
  while (trigger_timeouts() > 0) {
  }

  std::map<std::string, int> expected = {{"poison", 3},
                                         {"retry-once", 2},
                                         {"crash-once", 2},
                                         {"retry-always", 3},
                                         {"fine", 1}};
  EXPECT_EQ(*calls, expected);
  EXPECT_EQ(*order, (std::vector<std::string>{"poison", "poison", "poison", "retry-once",
                                              "retry-once", "crash-once", "crash-once",
                                              "retry-always", "retry-always",
                                              "retry-always", "fine"}));
  EXPECT_EQ(stats->crashes.load(), 4u);
  EXPECT_EQ(stats->retried.load(), 3u);
  EXPECT_EQ(stats->rejected.load(), 2u); // poison, retry-always
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  EXPECT_EQ(stats->handled.load(), 3u);
}

// A handler that answers `retry` for the ids in `failing` until it was called `times`
// times for one, and counts calls per id.
kafka::handler failing_handler(std::shared_ptr<std::map<std::string, int>> calls,
                               std::set<std::string> failing, int times) {
  return [calls, failing, times](const runtime::envelope_view& view,
                                 const kafka::record_view&) {
    auto id = std::string{view.id};
    auto n = ++(*calls)[id];
    if (failing.count(id) && n <= times)
      return kafka::handler_status::retry;
    return kafka::handler_status::done;
  };
}

TEST_F(bus_test, a_retry_waits_for_the_topic_policys_backoff_without_holding_the_bus) {
  auto cfg = config();
  runtime::retry_policy p;
  p.attempts = 3;
  p.backoff_base = 1s; // base = cap: every wait is uniform in [0, 1 s]
  p.backoff_cap = 1s;
  p.max_in_place = 10s;
  cfg.consumer.policies.by_topic["audit"] = p;
  auto b = make_bus(cfg);
  auto calls = std::make_shared<std::map<std::string, int>>();
  must_subscribe(b, {"audit", "f", failing_handler(calls, {"slow"}, 2)});
  must_subscribe(b, {"audit", "g", recorder("g")});
  ASSERT_TRUE(publish(b, "audit", "k", event("slow"))->value);
  EXPECT_EQ((*calls)["slow"], 1) << "tried again without waiting";
  // Nothing blocks meanwhile: another subscription, another topic, more publishes.
  EXPECT_EQ(ids_seen_by("g"), std::vector<std::string>{"slow"});
  must_subscribe(b, {"other", "h", recorder("h")});
  ASSERT_TRUE(publish(b, "other", "k", event("quick"))->value);
  EXPECT_EQ(ids_seen_by("h"), std::vector<std::string>{"quick"});
  advance_time(1s);
  EXPECT_EQ((*calls)["slow"], 2);
  advance_time(1s);
  EXPECT_EQ((*calls)["slow"], 3);
  EXPECT_EQ(stats->retried.load(), 2u);
  EXPECT_EQ(stats->handled.load(), 3u); // f once, g, h
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
}

TEST_F(bus_test, a_record_out_of_attempts_is_published_to_its_dlq_with_failure_headers) {
  auto cfg = config();
  cfg.consumer.node_id = "node-7";
  cfg.consumer.policies.fallback.attempts = 2;
  auto b = make_bus(cfg);
  auto calls = std::make_shared<std::map<std::string, int>>();
  auto fn = failing_handler(calls, {"tired"}, 100);
  must_subscribe(
      b, {"audit", "f", [fn](const runtime::envelope_view& v, const kafka::record_view& r) {
            return v.id == "bad" ? kafka::handler_status::rejected : fn.function()(v, r);
          }});
  must_subscribe(b, {"audit.dlq", "dlq", recorder("dlq")});
  auto tired = event("tired");
  tired.extensions.push_back({"x-origin", "radar"});
  ASSERT_TRUE(publish(b, "audit", "k1", event("bad"))->value);
  ASSERT_TRUE(publish(b, "audit", "k2", tired)->value);
  while (trigger_timeouts() > 0) {
  }
  EXPECT_EQ((*calls)["tired"], 2); // exactly its attempts
  EXPECT_EQ(ids_seen_by("dlq"), (std::vector<std::string>{"bad", "tired"}));
  EXPECT_EQ(stats->dead_lettered.load(), 2u);
  EXPECT_EQ(stats->rejected.load(), 0u);
  auto header = [](const runtime::envelope& env, std::string_view key) {
    for (auto& h : env.extensions)
      if (h.key == key)
        return h.value;
    return std::string{"<missing>"};
  };
  namespace hd = policies::header;
  std::map<std::string, runtime::envelope> dead;
  for (auto& r : *seen)
    if (r.handler == "dlq")
      dead[r.env.id] = r.env;
  auto& bad = dead["bad"];
  EXPECT_EQ(header(bad, hd::error_class), "handler_rejected");
  EXPECT_EQ(header(bad, hd::attempts), "1");
  EXPECT_EQ(header(bad, hd::original_topic), "audit");
  EXPECT_EQ(header(bad, hd::original_partition), "-1");
  EXPECT_EQ(header(bad, hd::original_offset), "0");
  EXPECT_EQ(header(bad, hd::node_id), "node-7");
  EXPECT_NE(header(bad, hd::first_failure), "<missing>");
  auto& t = dead["tired"];
  EXPECT_EQ(t.extensions.front(), (runtime::header{"x-origin", "radar"})); // kept first
  EXPECT_EQ(header(t, hd::error_class), "handler_retry");
  EXPECT_EQ(header(t, hd::attempts), "2");
  EXPECT_EQ(header(t, hd::original_offset), "1");
  EXPECT_EQ(t.payload, tired.payload);
}

TEST_F(bus_test, a_dlq_the_bus_refuses_holds_the_record_and_is_tried_again) {
  auto cfg = config(std::nullopt); // [bus] default = none: audit.dlq has no route
  cfg.routes.in_process = {"audit"};
  auto b = make_bus(cfg);
  auto [h, st] = spawn_holder("h");
  auto id = must_subscribe(b, {"audit", "h", kafka::handler::from_actor(h, 5s)});
  ASSERT_TRUE(publish(b, "audit", "k", event("e0"))->value);
  ASSERT_TRUE(publish(b, "audit", "k", event("e1"))->value);
  answer_held(h, 0, kafka::handler_status::rejected);
  EXPECT_EQ(stats->publish_errors.load(), 1u); // unknown_topic for audit.dlq
  advance_time(100ms);
  EXPECT_EQ(stats->publish_errors.load(), 2u);
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  EXPECT_TRUE(st->waiting.empty()) << "e1 ran while e0 was not dead-lettered";
  auto done = ask<void>(b, bus::unsubscribe_atom::value, id);
  EXPECT_TRUE(done->ok);
  EXPECT_EQ(stats->dropped.load(), 2u); // e0 (held) and e1
}

TEST_F(bus_test, events_made_by_a_function_subscriber_continue_the_trace_it_handles) {
  auto b = make_bus();
  auto made = std::make_shared<std::vector<std::optional<runtime::trace_context>>>();
  kafka::record_handler fn = [made](const runtime::envelope_view&,
                                    const kafka::record_view&) {
    runtime::envelope out; // what the subscriber would publish next
    made->push_back(out.trace);
    return kafka::handler_status::done;
  };
  must_subscribe(b, {"audit", "f", fn});
  auto traced = event("traced");
  traced.trace = runtime::trace_context::parse(
                     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                     .value();
  ASSERT_TRUE(publish(b, "audit", "k", traced)->value);
  ASSERT_TRUE(publish(b, "audit", "k", event("plain"))->value);
  ASSERT_EQ(made->size(), 2u);
  ASSERT_TRUE((*made)[0]);
  EXPECT_EQ((*made)[0]->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE((*made)[0]->parent_id, "00f067aa0ba902b7");
  EXPECT_FALSE((*made)[1]) << "no trace handled, none continued";
}

TEST_F(bus_test, subscriber_actor_that_exits_is_unsubscribed) {
  auto b = make_bus();
  auto [h, st] = spawn_holder("h");
  must_subscribe(b, {"audit", "h", kafka::handler::from_actor(h, 5s)});
  caf::anon_send_exit(h, caf::exit_reason::kill);
  run();
  ASSERT_TRUE(publish(b, "audit", "k", event("e0"))->value);
  EXPECT_EQ(stats->unheard.load(), 1u);
  EXPECT_TRUE(seen->empty());
  // The (topic, group) is free again.
  must_subscribe(b, {"audit", "h", recorder("again")});
}

class bus_stop_test : public bus_test {
protected:
  std::shared_ptr<std::optional<caf::error>> down =
      std::make_shared<std::optional<caf::error>>();

  void watch(const caf::actor& b) {
    auto out = down;
    keep_.push_back(sys.spawn([b, out](caf::event_based_actor* self) -> caf::behavior {
      self->monitor(b);
      self->set_down_handler([out](caf::down_msg& m) { *out = m.reason; });
      return {[](caf::atom_constant<caf::atom("never")>) {}};
    }));
    run();
  }

  // A watched bus whose holder subscription has e0 in its handler and e1 queued, asked
  // to stop; returns the holder.
  caf::actor stop_with_two_records_pending(bus::bus_config cfg) {
    auto b = make_bus(std::move(cfg));
    watch(b);
    auto h = spawn_holder("h").first;
    must_subscribe(b, {"audit", "h", kafka::handler::from_actor(h, 5s)});
    EXPECT_TRUE(publish(b, "audit", "k", event("e0"))->value);
    EXPECT_TRUE(publish(b, "audit", "k", event("e1"))->value);
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
    run();
    bus_ = b;
    return h;
  }

  caf::actor bus_;
};

TEST_F(bus_stop_test, stop_lets_in_process_subscriptions_work_off_their_queues) {
  auto h = stop_with_two_records_pending(config());
  EXPECT_FALSE(down->has_value()) << "stopped with records queued";
  EXPECT_EQ(code_of(*subscribe(bus_, {"audit", "late", recorder("late")})),
            bus::errc::stopping);
  // Publishes are still taken, so that draining handlers can publish.
  ASSERT_TRUE(publish(bus_, "audit", "k", event("e2"))->value);
  answer_held(h);
  answer_held(h);
  EXPECT_FALSE(down->has_value());
  answer_held(h);
  ASSERT_TRUE(down->has_value());
  EXPECT_TRUE(runtime::is_normal_exit(**down)) << runtime::describe(**down);
  EXPECT_EQ(ids_seen_by("h"), (std::vector<std::string>{"e0", "e1", "e2"}));
  EXPECT_EQ(stats->dropped.load(), 0u);
}

TEST_F(bus_stop_test, stop_drops_what_is_not_handled_within_the_drain_timeout) {
  auto cfg = config();
  cfg.consumer.drain_timeout = 2s;
  stop_with_two_records_pending(cfg);
  EXPECT_FALSE(down->has_value());
  auto unsubscribed =
      ask<void>(bus_, bus::unsubscribe_atom::value, bus::subscription_id{1});
  EXPECT_FALSE(unsubscribed->came) << "answered with e0 still in the handler";
  advance_time(2s);
  ASSERT_TRUE(down->has_value());
  EXPECT_TRUE(unsubscribed->ok) << runtime::describe(unsubscribed->error);
  EXPECT_EQ(stats->dropped.load(), 2u); // e0 in the handler, e1 queued
}

TEST_F(bus_test, subscriptions_and_sequence_numbers_outlive_a_restart_of_the_bus) {
  auto slot = std::make_shared<runtime::actor_slot>();
  runtime::supervisor_spec spec;
  spec.name = "kafka";
  spec.children.push_back(
      runtime::track(bus::bus_child("bus", config(), nullptr, stats), slot));
  auto sup = runtime::start_supervisor(sys, spec);
  ASSERT_TRUE(sup.has_value()) << sup.error().describe();
  keep_.push_back(*sup);
  run();
  auto first = slot->get();
  must_subscribe(first, {"audit", "a", recorder("a")});
  ASSERT_EQ(publish(first, "audit", "k", event("e0"))->value->offset, 0);

  caf::anon_send_exit(first, caf::exit_reason::kill);
  run();
  auto second = slot->get();
  ASSERT_NE(second, first);
  auto r = publish(second, "audit", "k", event("e1"));
  ASSERT_TRUE(r->value) << runtime::describe(r->error);
  EXPECT_EQ(r->value->offset, 1);
  EXPECT_EQ(ids_seen_by("a"), (std::vector<std::string>{"e0", "e1"}));
  EXPECT_EQ(code_of(*subscribe(second, {"audit", "a", recorder("dup")})),
            bus::errc::already_subscribed);
}

} // namespace
} // namespace phoenix::bus_test
