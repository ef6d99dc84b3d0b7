#include "supervisor_fixture.hpp"

using namespace phoenix::runtime;
using namespace phoenix::runtime::test;
using namespace std::chrono_literals;

namespace {

class supervisor_backoff_test : public supervisor_test {
protected:
  // 100 ms, 200 ms, 400 ms, 400 ms, ...; stable after 10 s; no jitter, so that virtual
  // time shows each delay exactly.
  supervisor_spec backoff_spec(restart_strategy s, int intensity,
                               std::vector<child_spec> children) {
    auto out = spec(s, intensity, std::move(children));
    out.backoff = restart_backoff{100ms, 400ms, 0.0, 10s};
    return out;
  }

  // Kills `id`, then shows that it comes back exactly `delay` later, not before.
  void expect_restart_after(const std::string& id, std::chrono::milliseconds delay) {
    auto before = j->starts[id];
    kill(id);
    if (delay > 0ms) {
      advance_time(delay - 1ms);
      EXPECT_EQ(j->starts[id], before) << id << " restarted before " << delay.count();
      advance_time(1ms);
    }
    EXPECT_EQ(j->starts[id], before + 1) << id << " not restarted after " << delay.count();
  }
};

TEST(restart_backoff, delay_doubles_from_min_to_max_and_jitter_adds_up_to_its_share) {
  restart_backoff b{200ms, 30s, 0.5, 10s};
  EXPECT_EQ(backoff_delay(b, 1, 0.0), 200ms);
  EXPECT_EQ(backoff_delay(b, 2, 0.0), 400ms);
  EXPECT_EQ(backoff_delay(b, 8, 0.0), 25600ms);
  EXPECT_EQ(backoff_delay(b, 9, 0.0), 30s);
  EXPECT_EQ(backoff_delay(b, 1000000, 0.0), 30s) << "no overflow however long it fails";
  EXPECT_EQ(backoff_delay(b, 1, 0.5), 250ms);
  EXPECT_EQ(backoff_delay(b, 9, 0.999), 44985ms);
}

TEST(restart_backoff, bad_values_are_refused_naming_the_key) {
  auto problem = [](restart_backoff b) {
    auto r = validate_restart_backoff(b, "node.toml: [supervisor]");
    return r ? std::string{} : r.error().message();
  };
  EXPECT_EQ(problem({}), "");
  EXPECT_NE(problem({0ms, 1s, 0.2, 1s}).find("[supervisor] backoff_min_ms"),
            std::string::npos);
  EXPECT_NE(problem({2s, 1s, 0.2, 1s}).find("backoff_max_ms: must not be below"),
            std::string::npos);
  EXPECT_NE(problem({1s, 1s, 1.5, 1s}).find("backoff_jitter: expected 0 to 1"),
            std::string::npos);
  EXPECT_NE(problem({1s, 1s, 0.2, 0ms}).find("backoff_reset_ms"), std::string::npos);
}

TEST_F(supervisor_backoff_test, delays_grow_from_the_second_exit_and_stop_at_the_cap) {
  start(backoff_spec(restart_strategy::one_for_one, 10, {worker(j, "a")}));
  expect_restart_after("a", 0ms); // first exit since stable: at once
  expect_restart_after("a", 100ms);
  expect_restart_after("a", 200ms);
  expect_restart_after("a", 400ms);
  expect_restart_after("a", 400ms);
  ASSERT_EQ(j->count(supervisor_event::restart_delayed), 4);
  auto& last = j->events[j->events.size() - 2];
  EXPECT_EQ(last.kind, supervisor_event::restart_delayed);
  EXPECT_NE(last.reason.find("restart delayed 400 ms"), std::string::npos) << last.reason;
  EXPECT_NE(last.reason.find("kill"), std::string::npos) << "names the last exit reason";
}

TEST_F(supervisor_backoff_test, child_failing_for_good_is_retried_at_the_cap_forever) {
  auto sup = start(backoff_spec(restart_strategy::one_for_one, 1, {worker(j, "a")}));
  auto down = watch(sup);
  expect_restart_after("a", 0ms);
  for (int i = 0; i < 50; ++i) {
    kill("a");
    advance_time(400ms);
  }
  EXPECT_EQ(j->starts["a"], 52);
  EXPECT_FALSE(down->has_value()) << "delayed restarts do not count toward intensity 1";
}

TEST_F(supervisor_backoff_test, child_up_for_the_reset_time_restarts_at_once_again) {
  start(backoff_spec(restart_strategy::one_for_one, 10, {worker(j, "a")}));
  expect_restart_after("a", 0ms);
  expect_restart_after("a", 100ms);
  expect_restart_after("a", 200ms);
  advance_time(10s);
  EXPECT_EQ(j->count(supervisor_event::backoff_reset), 1);
  expect_restart_after("a", 0ms);
  expect_restart_after("a", 100ms);
}

TEST_F(supervisor_backoff_test, immediate_restarts_still_count_toward_intensity) {
  auto sup = start(
      backoff_spec(restart_strategy::one_for_one, 1, {worker(j, "a"), worker(j, "b")}));
  auto down = watch(sup);
  kill("a");
  EXPECT_FALSE(down->has_value());
  kill("b"); // a second immediate restart within the period
  ASSERT_TRUE(down->has_value());
  EXPECT_EQ(down->value().code(), static_cast<uint8_t>(errc::restart_intensity));
}

TEST_F(supervisor_backoff_test, exit_request_during_a_delay_stops_without_starting_it) {
  auto sup = start(
      backoff_spec(restart_strategy::one_for_one, 10, {worker(j, "a"), worker(j, "b")}));
  auto down = watch(sup);
  kill("a");
  kill("a"); // waits 100 ms
  auto mark = j->lines.size();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  advance_time(1s);
  ASSERT_TRUE(down->has_value());
  EXPECT_EQ(down->value(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(j->since(mark), (lines{"stop b"}));
  EXPECT_EQ(j->starts["a"], 2);
}

TEST_F(supervisor_backoff_test, rest_for_one_later_siblings_wait_with_the_child) {
  start(backoff_spec(restart_strategy::rest_for_one, 10,
                     {worker(j, "a"), worker(j, "b"), worker(j, "c")}));
  kill("b");
  auto mark = j->lines.size();
  kill("b"); // waits 100 ms, c stopped meanwhile
  EXPECT_EQ(j->since(mark), (lines{"stop b", "stop c"}));
  kill("a"); // a's own restart does not start b or c before b's delay
  EXPECT_EQ(j->since(mark), (lines{"stop b", "stop c", "stop a", "start a"}));
  advance_time(100ms);
  EXPECT_EQ(j->since(mark),
            (lines{"stop b", "stop c", "stop a", "start a", "start b", "start c"}));
}

TEST_F(supervisor_backoff_test,
       restart_that_fails_waits_the_next_delay_instead_of_escalating) {
  auto fail_next = std::make_shared<bool>(false);
  auto inner = fails_to_restart_when(fail_next, worker(j, "a"));
  auto sup =
      start(backoff_spec(restart_strategy::rest_for_one, 1, {inner, worker(j, "b")}));
  auto down = watch(sup);
  *fail_next = true;
  kill("a"); // immediate restart fails: waits 100 ms, then 200 ms, 400 ms, 400 ms
  for (auto delay : {100ms, 200ms, 400ms, 400ms})
    advance_time(delay); // one step per delay: virtual time fires what is due by then
  EXPECT_EQ(j->count(supervisor_event::restart_failed), 5);
  EXPECT_EQ(j->starts["b"], 1) << "b waits for a";
  EXPECT_FALSE(down->has_value());
  *fail_next = false;
  advance_time(400ms);
  EXPECT_EQ(j->starts["a"], 2);
  EXPECT_EQ(j->starts["b"], 2);
  EXPECT_FALSE(down->has_value());
}

} // namespace
