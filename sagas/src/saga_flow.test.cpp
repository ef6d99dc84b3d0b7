// A saga's life on the deterministic scheduler, with the saga test kit: happy path,
// failure at each step, timeouts, retries, parallel groups, failing compensation,
// duplicates and recovery after a crash. Virtual time; real SQLite store.

#include "phoenix/sagas/testing/saga_test.hpp"

#include <gtest/gtest.h>

namespace {

using namespace phoenix::sagas;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

// reserve -> enrich -> notify; each compensable but enrich (nothing to undo).
phoenix::result<saga_definition> three_steps(std::chrono::milliseconds timeout = 0ms) {
  return saga_builder{"order"}
      .reply_topic("order.replies")
      .step({"reserve",
             action::command("quota.cmd"),
             action::command("quota.cmd"),
             {timeout}})
      .step({"enrich", action::command("enrich.cmd"), std::nullopt, {timeout}})
      .step({"notify", action::command("crm.cmd"), action::command("crm.cmd"), {timeout}})
      .compensation_retry({3, 100ms, 1s})
      .build();
}

class saga_flow : public phoenix::sagas::testing::saga_test {};

TEST_F(saga_flow, happy_path_runs_every_step_once_in_order) {
  use(three_steps());
  ASSERT_TRUE(start("o-1", "{}"));
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_EQ(log().applied, (strings{"reserve/action", "enrich/action", "notify/action"}));
  EXPECT_EQ(stats().completed, 1u);
  EXPECT_EQ(stats().in_flight, 0);
  auto s = saga("o-1");
  ASSERT_TRUE(s);
  for (const auto& st : s->steps)
    EXPECT_EQ(st.status, step_status::done);
}

TEST_F(saga_flow, a_second_start_of_the_same_id_is_refused) {
  use(three_steps());
  ASSERT_TRUE(start("o-1"));
  EXPECT_FALSE(start("o-1"));
  EXPECT_EQ(log().applied.size(), 3u);
}

TEST_F(saga_flow, failure_at_each_step_compensates_exactly_the_completed_steps_in_reverse) {
  auto b = saga_builder{"order"}.reply_topic("order.replies");
  strings names{"a", "b", "c", "d"};
  for (const auto& n : names)
    b.step({n, action::command(n + ".cmd"), action::command(n + ".cmd")});
  use(b.build());
  for (std::size_t k = 0; k < names.size(); ++k) {
    auto id = "fail-at-" + names[k];
    on(names[k]).fail("broken " + names[k]);
    ASSERT_TRUE(start(id));
    EXPECT_EQ(status(id), saga_status::compensated) << id;
    EXPECT_EQ(saga(id)->last_error, names[k] + ": broken " + names[k]);
    strings expected;
    for (std::size_t i = 0; i < k; ++i)
      expected.push_back(names[i] + "/action");
    for (auto i = k; i-- > 0;)
      expected.push_back(names[i] + "/compensate");
    auto it = log().applied_by_saga.find(id);
    EXPECT_EQ(it == log().applied_by_saga.end() ? strings{} : it->second, expected) << id;
  }
  EXPECT_EQ(stats().compensated, names.size());
}

TEST_F(saga_flow, a_step_without_compensation_is_skipped_when_undoing) {
  use(three_steps());
  on("notify").fail("crm down");
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(status("o-1"), saga_status::compensated);
  EXPECT_EQ(log().applied,
            (strings{"reserve/action", "enrich/action", "reserve/compensate"}));
  auto s = saga("o-1");
  EXPECT_EQ(s->steps[1].status, step_status::compensated);
  EXPECT_EQ(s->steps[2].status, step_status::failed);
}

TEST_F(saga_flow, a_timed_out_step_is_compensated_with_the_completed_ones) {
  use(three_steps(5s));
  on("notify").silent();
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(status("o-1"), saga_status::running);
  advance(4s);
  EXPECT_EQ(status("o-1"), saga_status::running);
  advance(1s);
  EXPECT_EQ(status("o-1"), saga_status::compensated);
  // notify's effect is unknown after a timeout, so it is undone too, before reserve.
  EXPECT_EQ(log().applied, (strings{"reserve/action", "enrich/action", "notify/compensate",
                                    "reserve/compensate"}));
  EXPECT_EQ(saga("o-1")->last_error, "notify: timed out");
}

TEST_F(saga_flow, a_failure_reply_that_says_timed_out_is_a_failure_not_a_timeout) {
  use(three_steps());
  on("notify").fail("timed out"); // the participant's words, not the saga's timeout
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(saga("o-1")->steps[2].status, step_status::failed);
  EXPECT_EQ(log().applied,
            (strings{"reserve/action", "enrich/action", "reserve/compensate"}));
}

TEST_F(saga_flow,
       a_failing_compensation_is_retried_with_backoff_then_ends_in_compensation_failed) {
  use(three_steps());
  on("enrich").fail("enricher down");
  on("reserve", command_kind::compensate).always_fail("quota service down");
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(status("o-1"), saga_status::compensating);
  advance(99ms);
  EXPECT_EQ(log().delivered.size(), 3u); // reserve, enrich, first compensation
  advance(1ms);                          // second attempt after 100 ms
  EXPECT_EQ(log().delivered.size(), 4u);
  advance(199ms);
  EXPECT_EQ(status("o-1"), saga_status::compensating);
  advance(1ms); // third and last attempt after 200 more
  EXPECT_EQ(status("o-1"), saga_status::compensation_failed);
  auto s = saga("o-1");
  EXPECT_EQ(s->steps[0].status, step_status::compensation_failed);
  EXPECT_EQ(s->steps[0].attempts, 3);
  EXPECT_EQ(s->last_error, "reserve: quota service down");
  EXPECT_EQ(stats().compensation_failed, 1u);
}

TEST_F(saga_flow, a_step_with_a_retry_policy_is_sent_again_with_the_same_command_id) {
  use(saga_builder{"order"}
          .reply_topic("order.replies")
          .step(
              {"reserve", action::command("quota.cmd"), std::nullopt, {0ms, {3, 50ms, 1s}}})
          .build());
  on("reserve").fail("busy").fail("busy");
  ASSERT_TRUE(start("o-1"));
  advance(50ms);
  EXPECT_EQ(status("o-1"), saga_status::running);
  advance(100ms);
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_EQ(log().delivered,
            (strings{"reserve/action", "reserve/action", "reserve/action"}));
  EXPECT_EQ(log().applied, (strings{"reserve/action"}));
  EXPECT_EQ(log().applied_ids, (std::set<std::string>{"o-1/reserve/action"}));
}

TEST_F(saga_flow, a_parallel_group_joins_before_the_next_step_and_a_local_call_runs_once) {
  int geo_calls = 0;
  use(saga_builder{"order"}
          .reply_topic("order.replies")
          .parallel(
              {{"enrich", action::command("enrich.cmd"), action::command("enrich.cmd")},
               {"geo", action::call([&geo_calls](const command& c) {
                  ++geo_calls;
                  EXPECT_EQ(c.command_id, "o-1/geo/action");
                  return outcome::success();
                })}})
          .step({"notify", action::command("crm.cmd")})
          .build());
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_EQ(geo_calls, 1);
  EXPECT_EQ(log().applied, (strings{"enrich/action", "notify/action"}));
}

TEST_F(saga_flow, a_failure_in_a_parallel_group_undoes_its_completed_sibling) {
  use(saga_builder{"order"}
          .reply_topic("order.replies")
          .step({"reserve", action::command("quota.cmd"), action::command("quota.cmd")})
          .parallel(
              {{"enrich", action::command("enrich.cmd"), action::command("enrich.cmd")},
               {"score", action::command("score.cmd")}})
          .step({"notify", action::command("crm.cmd")})
          .build());
  on("score").fail("model down");
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(status("o-1"), saga_status::compensated);
  EXPECT_EQ(log().applied, (strings{"reserve/action", "enrich/action", "enrich/compensate",
                                    "reserve/compensate"}));
}

TEST_F(saga_flow,
       a_crashed_coordinator_resumes_from_the_store_and_participants_apply_once) {
  use(three_steps(10s));
  on("enrich").silent(); // the saga waits for enrich when the coordinator dies
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(status("o-1"), saga_status::running);
  EXPECT_EQ(restart(), 1u); // resends enrich under the same command id
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_EQ(log().delivered,
            (strings{"reserve/action", "enrich/action", "enrich/action", "notify/action"}));
  EXPECT_EQ(log().applied, (strings{"reserve/action", "enrich/action", "notify/action"}));
}

TEST_F(saga_flow, a_resend_of_an_applied_command_is_answered_without_applying_it_again) {
  use(three_steps(10s));
  on("notify").lose_reply(); // applied, but the node dies before the reply arrives
  ASSERT_TRUE(start("o-1"));
  EXPECT_EQ(status("o-1"), saga_status::running);
  EXPECT_EQ(restart(), 1u);
  EXPECT_EQ(status("o-1"), saga_status::completed);
  EXPECT_EQ(log().duplicates, 1u);
  EXPECT_EQ(log().applied, (strings{"reserve/action", "enrich/action", "notify/action"}));
}

TEST_F(saga_flow, recovery_keeps_the_stored_timeout) {
  use(three_steps(5s));
  on("reserve").silent();
  ASSERT_TRUE(start("o-1"));
  advance(3s);
  on("reserve").silent();
  EXPECT_EQ(restart(), 1u); // the resend is not answered either
  advance(1999ms);
  EXPECT_EQ(status("o-1"), saga_status::running);
  advance(1ms); // 5 s after the first send, not after the restart
  EXPECT_EQ(status("o-1"), saga_status::compensated);
}

TEST_F(saga_flow, a_revoked_partition_forgets_its_sagas_and_a_later_reply_reloads_one) {
  use(three_steps());
  on("enrich").silent();
  ASSERT_TRUE(start("o-1"));
  auto dropped = request(coordinator(), saga_revoke_atom::value, topic, partition);
  ASSERT_TRUE(dropped && dropped->match_elements<std::uint64_t>());
  EXPECT_EQ(dropped->get_as<std::uint64_t>(0), 1u);
  auto held = request(coordinator(), saga_count_atom::value);
  EXPECT_EQ(held->get_as<std::uint64_t>(0), 0u);
  EXPECT_EQ(stats().in_flight, 0);
  // The reply that was in flight arrives after all: the saga is read from the store.
  auto r = request(coordinator(), saga_reply_atom::value,
                   saga_reply{"o-1", "enrich", command_kind::action, outcome{}});
  ASSERT_TRUE(r && r->match_elements<bool>());
  EXPECT_TRUE(r->get_as<bool>(0));
  run();
  EXPECT_EQ(status("o-1"), saga_status::completed);
}

TEST_F(saga_flow, a_reply_for_an_unknown_saga_is_refused) {
  use(three_steps());
  auto res = request(coordinator(), saga_reply_atom::value,
                     saga_reply{"nobody", "reserve", command_kind::action, outcome{}});
  ASSERT_TRUE(res && res->match_elements<bool>());
  EXPECT_FALSE(res->get_as<bool>(0));
}

} // namespace
