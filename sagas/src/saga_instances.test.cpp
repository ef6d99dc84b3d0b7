// Saga instance actors with the test kit: one per in-flight saga, passivated when idle
// and woken by the next event, restarted from the store after a crash, stopped by a
// revoke; and the trace of the event that started or advanced a saga continued in its
// commands. Virtual time; real SQLite store.

#include "phoenix/runtime/trace_context.hpp"
#include "phoenix/sagas/testing/saga_test.hpp"

#include <gtest/gtest.h>

namespace {

using namespace phoenix::sagas;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

phoenix::result<saga_definition> three_steps() {
  return saga_builder{"order"}
      .reply_topic("order.replies")
      .step({"reserve", action::command("quota.cmd"), action::command("quota.cmd")})
      .step({"enrich", action::command("enrich.cmd")})
      .step({"notify", action::command("crm.cmd"), action::command("crm.cmd")})
      .build();
}

class saga_instances : public phoenix::sagas::testing::saga_test {
protected:
  saga_instances() { use(three_steps()); }

  bool reply(const std::string& id, const std::string& step, std::string trace = {}) {
    auto r =
        request(coordinator(), saga_reply_atom::value,
                saga_reply{id, step, command_kind::action, outcome{}, std::move(trace)});
    run();
    return r && r->match_elements<bool>() && r->get_as<bool>(0);
  }
  std::uint64_t held() {
    auto n = request(coordinator(), saga_count_atom::value);
    return n && n->match_elements<std::uint64_t>() ? n->get_as<std::uint64_t>(0) : 0;
  }
};

TEST_F(saga_instances, each_waiting_saga_has_its_own_instance_until_it_finishes) {
  on("enrich").silent();
  ASSERT_TRUE(start("o-1"));
  on("enrich").silent();
  ASSERT_TRUE(start("o-2"));
  auto a = instance("o-1"), b = instance("o-2");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_NE(a.address(), b.address());
  EXPECT_EQ(stats().instances, 2);
  ASSERT_TRUE(reply("o-1", "enrich"));
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_FALSE(instance("o-1")); // a finished saga's instance stops
  EXPECT_EQ(held(), 1u);
}

TEST_F(saga_instances, an_idle_instance_passivates_and_the_next_reply_wakes_the_saga) {
  on("enrich").silent();
  ASSERT_TRUE(start("o-1"));
  ASSERT_TRUE(instance("o-1"));
  advance(900ms);
  EXPECT_TRUE(instance("o-1"));
  advance(600ms); // passivate_after (1 s) idle, seen by the sweep (every 0.5 s)
  EXPECT_FALSE(instance("o-1"));
  EXPECT_EQ(stats().passivations, 1u);
  EXPECT_EQ(stats().instances, 0);
  EXPECT_EQ(held(), 1u); // its state stays with the coordinator
  EXPECT_EQ(stats().in_flight, 1);
  ASSERT_TRUE(reply("o-1", "enrich")); // enrich was silent: its answer comes now
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_EQ(log().delivered, (strings{"reserve/action", "enrich/action", "notify/action"}));
  EXPECT_EQ(stats().instances, 0);
  EXPECT_EQ(stats().in_flight, 0);
}

TEST_F(saga_instances, the_mailbox_gauge_returns_to_zero_when_the_coordinator_goes_idle) {
  on("enrich").silent();
  on("notify").silent(); // no answer routed after the reply below
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(stats().mailbox_depth, 0u);
  // A reply routed with three more messages behind it; none of those routes an event.
  caf::anon_send(coordinator(), saga_reply_atom::value,
                 saga_reply{"o-1", "enrich", command_kind::action, outcome{}, {}});
  for (int i = 0; i < 3; ++i)
    caf::anon_send(coordinator(), saga_count_atom::value);
  run();
  EXPECT_EQ(log().delivered, (strings{"reserve/action", "enrich/action", "notify/action"}));
  EXPECT_EQ(stats().mailbox_depth, 3u); // what the routed reply saw behind it
  advance(1s); // no event since: sampled again, the mailbox is empty
  EXPECT_EQ(stats().mailbox_depth, 0u);
}

TEST_F(saga_instances, a_crashed_instance_restarts_and_resends_its_step_with_the_same_id) {
  on("enrich").lose_reply(); // applied; the answer never comes
  ASSERT_TRUE(start("o-1"));
  auto first = instance("o-1");
  ASSERT_TRUE(crash("o-1"));
  EXPECT_EQ(stats().instance_restarts, 1u);
  // The new instance read the saga from the store and sent enrich again: the participant
  // knew its command id and answered from memory.
  EXPECT_EQ(log().duplicates, 1u);
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_EQ(log().delivered,
            (strings{"reserve/action", "enrich/action", "enrich/action", "notify/action"}));
  EXPECT_EQ(log().applied, (strings{"reserve/action", "enrich/action", "notify/action"}));
  EXPECT_NE(first.address(), caf::actor_addr{});
}

TEST_F(saga_instances, a_saga_whose_instance_keeps_crashing_is_forgotten_but_kept_stored) {
  on("enrich").silent().silent().silent().silent(); // the first send and 3 resends
  ASSERT_TRUE(start("o-1"));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(crash("o-1")) << i;
  EXPECT_EQ(stats().instance_restarts, 3u);
  EXPECT_EQ(held(), 1u);
  ASSERT_TRUE(crash("o-1")); // one more than max_restarts
  EXPECT_EQ(stats().instance_restarts, 3u);
  EXPECT_FALSE(instance("o-1"));
  EXPECT_EQ(held(), 0u);
  EXPECT_EQ(stats().in_flight, 0);
  EXPECT_EQ(status("o-1"), saga_status::running); // durable, for the next owner
  ASSERT_TRUE(reply("o-1", "enrich"));            // a late reply picks it up again
  EXPECT_EQ(status("o-1"), saga_status::completed);
}

TEST_F(saga_instances, a_revoke_stops_the_partitions_instances_with_their_state_stored) {
  on("enrich").silent();
  ASSERT_TRUE(start("o-1"));
  ASSERT_EQ(stats().instances, 1);
  auto dropped = request(coordinator(), saga_revoke_atom::value, topic, partition);
  ASSERT_TRUE(dropped && dropped->match_elements<std::uint64_t>());
  EXPECT_EQ(dropped->get_as<std::uint64_t>(0), 1u);
  run();
  EXPECT_EQ(stats().instances, 0);
  EXPECT_EQ(stats().instance_restarts, 0u);
  EXPECT_EQ(held(), 0u);
  auto s = saga("o-1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->steps[1].status, step_status::running); // durable: enrich was sent
}

const std::string started_by = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string advanced_by = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST_F(saga_instances, commands_continue_the_trace_of_the_event_that_started_the_saga) {
  ASSERT_TRUE(start("o-1", "{}", started_by));
  ASSERT_EQ(log().traceparents.size(), 3u);
  auto start_ctx = phoenix::runtime::trace_context::parse(started_by);
  ASSERT_TRUE(start_ctx);
  for (const auto& tp : log().traceparents) {
    auto c = phoenix::runtime::trace_context::parse(tp);
    ASSERT_TRUE(c) << "command without a valid traceparent: '" << tp << "'";
    EXPECT_EQ(c->trace_id, start_ctx->trace_id);
    EXPECT_NE(c->parent_id, start_ctx->parent_id); // a span of the saga's own
    EXPECT_EQ(c->flags, start_ctx->flags);
  }
  EXPECT_EQ(saga("o-1")->trace, started_by);
}

TEST_F(saga_instances,
       a_reply_with_a_trace_carries_it_into_the_next_command_after_a_restart) {
  on("enrich").silent();
  ASSERT_TRUE(start("o-1", "{}", started_by));
  on("notify").silent();
  ASSERT_TRUE(reply("o-1", "enrich", advanced_by));
  EXPECT_EQ(saga("o-1")->trace, advanced_by); // stored with the state
  on("notify").silent();
  EXPECT_EQ(restart(), 1u); // the resend of notify comes from the stored state
  strings ids;
  for (const auto& tp : log().traceparents) {
    auto c = phoenix::runtime::trace_context::parse(tp);
    ASSERT_TRUE(c);
    ids.push_back(c->trace_id);
  }
  auto a = phoenix::runtime::trace_context::parse(started_by)->trace_id;
  auto b = phoenix::runtime::trace_context::parse(advanced_by)->trace_id;
  EXPECT_EQ(ids, (strings{a, a, b, b})); // reserve, enrich; notify, its resend
}

TEST_F(saga_instances, a_saga_started_without_a_trace_sends_commands_without_one) {
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(log().traceparents, (strings{"", "", ""}));
}

TEST_F(saga_instances, each_durable_transition_joins_the_journey_of_the_saga_id) {
  on("enrich").fail("no data");
  ASSERT_TRUE(start("o-1")); // the scripted participants answer at once
  EXPECT_EQ(status("o-1"), saga_status::compensated);
  auto rows = trace->take(100);
  std::vector<std::string> stages, details;
  for (auto& r : rows) {
    EXPECT_EQ(r.key.value, "o-1");
    EXPECT_EQ(r.topic, "saga.test");
    EXPECT_EQ(r.partition, 0);
    stages.push_back(r.stage);
    details.push_back(r.detail);
  }
  ASSERT_EQ(stages, (strings{"saga:running", "saga:running", "saga:compensating",
                             "saga:compensated"}))
      << ::testing::PrintToString(details);
  EXPECT_EQ(details[0], "order v1: started; sent o-1/reserve/action (attempt 1)");
  EXPECT_EQ(details[1],
            "order v2: reserve action succeeded; sent o-1/enrich/action (attempt 1)");
  EXPECT_EQ(details[2], "order v3: enrich action failed: no data; sent "
                        "o-1/reserve/compensate (attempt 1)");
  EXPECT_EQ(details[3].rfind("order v4: reserve compensate succeeded", 0), 0u)
      << details[3];
}

} // namespace
