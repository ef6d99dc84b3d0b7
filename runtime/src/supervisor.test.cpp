#include "supervisor_fixture.hpp"

#include <algorithm>

using namespace phoenix::runtime;
using namespace phoenix::runtime::test;
using namespace std::chrono_literals;

namespace {

TEST_F(supervisor_test, starts_children_in_order) {
  start(spec(restart_strategy::one_for_one, 3,
             {worker(j, "a"), worker(j, "b"), worker(j, "c")}));
  EXPECT_EQ(j->lines, (lines{"start a", "start b", "start c"}));
  EXPECT_EQ(j->count(supervisor_event::child_started), 3);
}

TEST_F(supervisor_test, child_killed_within_intensity_is_restarted_each_time) {
  auto sup =
      start(spec(restart_strategy::one_for_one, 3, {worker(j, "a"), worker(j, "b")}));
  auto down = watch(sup);
  for (int i = 0; i < 3; ++i)
    kill("a");
  EXPECT_EQ(j->starts["a"], 4);
  EXPECT_EQ(j->starts["b"], 1);
  EXPECT_EQ(j->count(supervisor_event::child_restarted), 3);
  EXPECT_EQ(j->events.back().restarts, 3u);
  EXPECT_FALSE(down->has_value()) << "supervisor stopped within its intensity";
}

TEST_F(supervisor_test,
       kill_beyond_intensity_stops_supervisor_and_children_and_fails_upward) {
  auto sup =
      start(spec(restart_strategy::one_for_one, 2, {worker(j, "a"), worker(j, "b")}));
  auto down = watch(sup);
  kill("a");
  kill("a");
  auto mark = j->lines.size();
  kill("a");
  ASSERT_TRUE(down->has_value());
  EXPECT_EQ(down->value().category(), phoenix_error_category);
  EXPECT_EQ(down->value().code(), static_cast<uint8_t>(errc::restart_intensity));
  EXPECT_NE(describe(down->value()).find("more than 2 restarts"), std::string::npos)
      << describe(down->value());
  EXPECT_EQ(j->since(mark), (lines{"stop a", "stop b"}));
  EXPECT_EQ(j->starts["a"], 3);
  EXPECT_EQ(j->count(supervisor_event::intensity_exceeded), 1);
}

TEST_F(supervisor_test, restarts_outside_the_period_do_not_count) {
  auto sup = start(spec(restart_strategy::one_for_one, 1, {worker(j, "a")}));
  auto down = watch(sup);
  kill("a");
  advance_time(11s);
  kill("a");
  EXPECT_FALSE(down->has_value());
  kill("a"); // second restart within 10 s of the previous one
  EXPECT_TRUE(down->has_value());
}

TEST_F(supervisor_test, rest_for_one_restarts_only_later_siblings) {
  start(spec(restart_strategy::rest_for_one, 3,
             {worker(j, "a"), worker(j, "b"), worker(j, "c")}));
  auto mark = j->lines.size();
  kill("b");
  EXPECT_EQ(j->since(mark), (lines{"stop b", "stop c", "start b", "start c"}));
  EXPECT_EQ(j->starts["a"], 1);
}

TEST_F(supervisor_test, one_for_all_restarts_all_children) {
  start(spec(restart_strategy::one_for_all, 3,
             {worker(j, "a"), worker(j, "b"), worker(j, "c")}));
  auto mark = j->lines.size();
  kill("b");
  EXPECT_EQ(j->since(mark),
            (lines{"stop b", "stop c", "stop a", "start a", "start b", "start c"}));
}

TEST_F(supervisor_test, one_for_one_restarts_only_the_failed_child) {
  start(spec(restart_strategy::one_for_one, 3,
             {worker(j, "a"), worker(j, "b"), worker(j, "c")}));
  auto mark = j->lines.size();
  kill("b");
  EXPECT_EQ(j->since(mark), (lines{"stop b", "start b"}));
}

TEST_F(supervisor_test, transient_child_is_not_restarted_after_normal_exit) {
  start(
      spec(restart_strategy::one_for_one, 3, {worker(j, "t", {restart_type::transient})}));
  caf::anon_send(j->current.at("t"), finish_atom::value);
  run();
  EXPECT_EQ(j->starts["t"], 1);
  EXPECT_EQ(j->count(supervisor_event::child_restarted), 0);
}

TEST_F(supervisor_test, transient_child_is_restarted_after_crash) {
  start(
      spec(restart_strategy::one_for_one, 3, {worker(j, "t", {restart_type::transient})}));
  crash("t");
  EXPECT_EQ(j->starts["t"], 2);
}

TEST_F(supervisor_test, temporary_child_is_never_restarted) {
  start(spec(restart_strategy::one_for_all, 3,
             {worker(j, "tmp", {restart_type::temporary}), worker(j, "p")}));
  crash("tmp");
  EXPECT_EQ(j->starts["tmp"], 1);
  EXPECT_EQ(j->starts["p"], 1) << "a temporary child's exit restarts nobody";
  // Nor is it started again when a sibling's crash restarts all.
  kill("p");
  EXPECT_EQ(j->starts["tmp"], 1);
  EXPECT_EQ(j->starts["p"], 2);
}

TEST_F(supervisor_test, handler_that_throws_is_restarted_and_the_reason_logged) {
  start(spec(restart_strategy::one_for_one, 3, {worker(j, "a")}));
  crash("a");
  EXPECT_EQ(j->starts["a"], 2);
  bool seen = false;
  for (auto& e : j->events)
    if (e.kind == supervisor_event::child_exited)
      seen = e.reason.find("boom in handler") != std::string::npos;
  EXPECT_TRUE(seen) << "the exception's text reaches the supervisor's event";
}

TEST_F(supervisor_test, shutdown_stops_children_in_reverse_start_order) {
  auto sup = start(spec(restart_strategy::one_for_one, 3,
                        {worker(j, "a"), worker(j, "b"), worker(j, "c")}));
  auto down = watch(sup);
  auto mark = j->lines.size();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(j->since(mark), (lines{"stop c", "stop b", "stop a"}));
  ASSERT_TRUE(down->has_value());
  EXPECT_TRUE(is_normal_exit(down->value()));
  EXPECT_EQ(j->count(supervisor_event::child_restarted), 0);
}

TEST_F(supervisor_test, child_ignoring_shutdown_is_killed_after_its_timeout) {
  auto sup =
      start(spec(restart_strategy::one_for_one, 3,
                 {worker(j, "a"), worker(j, "stubborn", {restart_type::permanent, true})}));
  auto down = watch(sup);
  auto mark = j->lines.size();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  EXPECT_TRUE(j->since(mark).empty()) << "nothing stops before the timeout";
  EXPECT_FALSE(down->has_value());
  advance_time(100ms);
  EXPECT_EQ(j->since(mark), (lines{"stop stubborn", "stop a"}));
  EXPECT_EQ(j->count(supervisor_event::child_killed), 1);
  EXPECT_TRUE(down->has_value());
}

TEST_F(supervisor_test, supervisor_killed_outright_leaves_no_orphans) {
  auto sup =
      start(spec(restart_strategy::one_for_one, 3, {worker(j, "a"), worker(j, "b")}));
  auto mark = j->lines.size();
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  run();
  auto stopped = j->since(mark);
  std::sort(stopped.begin(), stopped.end());
  EXPECT_EQ(stopped, (lines{"stop a", "stop b"}));
}

TEST_F(supervisor_test, child_failing_to_start_fails_the_start_with_a_clear_error) {
  auto r = start_supervisor(
      sys,
      spec(restart_strategy::one_for_one, 3,
           {worker(j, "a"), worker(j, "b"),
            worker(j, "store", {restart_type::permanent, false, true}), worker(j, "c")}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), make_error_code(errc::child_start_failed));
  EXPECT_NE(r.error().message().find("child 'store' failed to start"), std::string::npos);
  EXPECT_NE(r.error().message().find("database file is read-only"), std::string::npos);
  run();
  EXPECT_EQ(j->lines, (lines{"start a", "start b", "stop b", "stop a"}));
  EXPECT_EQ(j->starts.count("c"), 0u);
}

TEST_F(supervisor_test, restart_that_fails_counts_against_intensity_and_escalates) {
  auto fail_next = std::make_shared<bool>(false);
  auto inner = fails_to_restart_when(fail_next, worker(j, "a"));
  auto sup = start(spec(restart_strategy::one_for_one, 3, {inner}));
  auto down = watch(sup);
  *fail_next = true;
  kill("a");
  ASSERT_TRUE(down->has_value());
  EXPECT_EQ(down->value().code(), static_cast<uint8_t>(errc::restart_intensity));
  EXPECT_EQ(j->count(supervisor_event::restart_failed), 3);
}

TEST_F(supervisor_test, nested_supervisor_escalation_restarts_its_subtree) {
  auto inner = spec(restart_strategy::one_for_one, 0, {worker(j, "x"), worker(j, "y")});
  inner.name = "inner";
  auto outer =
      spec(restart_strategy::one_for_one, 3, {supervisor_child(inner), worker(j, "z")});
  outer.name = "outer";
  auto sup = start(outer);
  auto down = watch(sup);
  auto mark = j->lines.size();
  kill("x"); // intensity 0: the inner supervisor gives up and the outer restarts it
  EXPECT_EQ(j->since(mark), (lines{"stop x", "stop y", "start x", "start y"}));
  EXPECT_EQ(j->starts["z"], 1);
  EXPECT_FALSE(down->has_value());
}

TEST_F(supervisor_test, observer_receives_events_of_nested_supervisors_without_wiring) {
  auto seen = std::make_shared<std::vector<supervisor_event>>();
  auto observer = sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {
        [seen](supervision_event_atom, const supervisor_event& e) { seen->push_back(e); }};
  });
  set_supervision_observer(sys, observer);
  auto inner = spec(restart_strategy::one_for_one, 0, {worker(j, "x")});
  inner.name = "inner";
  inner.on_event = nullptr; // the observer needs no on_event of the spec
  auto outer = spec(restart_strategy::one_for_one, 3, {supervisor_child(inner)});
  outer.name = "outer";
  start(outer);
  kill("x");
  auto has = [&](const std::string& sup, const std::string& child,
                 supervisor_event::kind_t k) {
    return std::any_of(seen->begin(), seen->end(), [&](const supervisor_event& e) {
      return e.supervisor == sup && e.child == child && e.kind == k;
    });
  };
  EXPECT_TRUE(has("inner", "x", supervisor_event::child_started));
  EXPECT_TRUE(has("inner", "x", supervisor_event::child_exited));
  EXPECT_TRUE(has("inner", "x", supervisor_event::intensity_exceeded));
  EXPECT_TRUE(has("outer", "inner", supervisor_event::child_restarted));
  set_supervision_observer(sys, caf::actor{});
  auto before = seen->size();
  kill("x");
  EXPECT_EQ(seen->size(), before) << "a removed observer hears nothing";
  caf::anon_send_exit(observer, caf::exit_reason::kill);
  run();
}

} // namespace
