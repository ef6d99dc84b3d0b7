#include "phoenix/observability/health_monitor.hpp"

#include "phoenix/testkit/actor_test.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <map>

using namespace phoenix::observability;
using namespace phoenix::runtime;
using namespace std::chrono_literals;

namespace {

using finish_atom = caf::atom_constant<caf::atom("finish")>;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class health_monitor_test : public phoenix::testkit::actor_test {
protected:
  std::shared_ptr<health_state> state = std::make_shared<health_state>();
  std::shared_ptr<metrics_registry> metrics = std::make_shared<metrics_registry>();
  std::shared_ptr<readiness> ready = std::make_shared<readiness>();
  std::shared_ptr<std::map<std::string, caf::actor>> current =
      std::make_shared<std::map<std::string, caf::actor>>();
  std::vector<caf::actor> keep_;

  child_spec worker(const std::string& id) {
    auto cur = current;
    return child_spec{id,
                      [cur, id](caf::actor_system& sys) -> phoenix::result<caf::actor> {
                        // An argument, because CAF 0.17 dereferences a null tuple
                        // for function actors without one (UBSan reports it).
                        auto a = sys.spawn(
                            [](caf::event_based_actor*, int) -> caf::behavior {
                              return {[](finish_atom) {}};
                            },
                            0);
                        (*cur)[id] = a;
                        return a;
                      },
                      restart_type::permanent, 100ms};
  }

  // The node's shape: the monitor first, then the children it watches, one of them a
  // nested supervisor.
  caf::actor start_node(int intensity, int storm_restarts,
                        std::optional<restart_backoff> kafka_backoff = std::nullopt) {
    health_monitor_options opts;
    opts.config.storm_restarts = storm_restarts;
    opts.config.storm_window = 10s;
    supervisor_spec kafka;
    kafka.name = "kafka";
    kafka.intensity = 100;
    kafka.backoff = kafka_backoff;
    kafka.children.push_back(worker("consumer:leads"));
    supervisor_spec node;
    node.name = "node";
    node.intensity = intensity;
    node.period = 60s;
    node.children.push_back(health_monitor_child(opts, state, metrics, ready));
    node.children.push_back(worker("store"));
    node.children.push_back(supervisor_child(kafka));
    auto sup = start_supervisor(sys, node);
    EXPECT_TRUE(sup.has_value());
    run();
    state->set_tree_up(true);
    keep_.push_back(*sup);
    return *sup;
  }

  void kill(const std::string& id) {
    caf::anon_send_exit(current->at(id), caf::exit_reason::kill);
    run();
  }

  void stop(const caf::actor& node) {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    run();
  }
};

TEST_F(health_monitor_test,
       counts_restarts_and_crashes_per_actor_kind_from_nested_supervisors) {
  auto node = start_node(10, 100);
  kill("consumer:leads");
  kill("consumer:leads");
  kill("store");
  EXPECT_EQ(state->restarts("consumer"), 2u);
  EXPECT_EQ(state->crashes("consumer"), 2u);
  EXPECT_EQ(state->restarts("store"), 1u);
  auto text = metrics->render();
  EXPECT_TRUE(contains(text, "phoenix_actor_restarts_total{kind=\"consumer\"} 2")) << text;
  EXPECT_TRUE(contains(text, "phoenix_actor_crashes_total{kind=\"store\"} 1")) << text;
  EXPECT_TRUE(ready->evaluate().ready);
  stop(node);
}

TEST_F(health_monitor_test, restart_storm_turns_ready_false_until_the_window_passes) {
  auto node = start_node(100, 3);
  kill("consumer:leads");
  kill("consumer:leads");
  EXPECT_FALSE(state->storm());
  EXPECT_TRUE(ready->evaluate().ready);
  kill("consumer:leads");
  EXPECT_TRUE(state->storm());
  auto report = ready->evaluate();
  EXPECT_FALSE(report.ready);
  ASSERT_EQ(report.checks.size(), 1u);
  EXPECT_EQ(report.checks[0].name, "restarts");
  EXPECT_TRUE(contains(report.checks[0].detail, "restart storm: 3 restarts"))
      << report.checks[0].detail;
  EXPECT_TRUE(contains(report.checks[0].detail, "kafka/consumer:leads"));
  EXPECT_TRUE(contains(metrics->render(), "phoenix_restart_storm 1"));
  EXPECT_TRUE(state->tree_up()) << "a storm is no liveness failure";

  advance_time(11s);
  EXPECT_FALSE(state->storm());
  EXPECT_TRUE(ready->evaluate().ready);
  EXPECT_TRUE(contains(metrics->render(), "phoenix_restart_storm 0"));
  stop(node);
}

TEST_F(health_monitor_test, restarts_spread_wider_than_the_window_are_no_storm) {
  auto node = start_node(100, 3);
  for (int i = 0; i < 5; ++i) {
    kill("store");
    advance_time(6s);
  }
  EXPECT_EQ(state->restarts("store"), 5u);
  EXPECT_FALSE(state->storm());
  stop(node);
}

TEST_F(health_monitor_test, child_restarting_under_backoff_fails_ready_until_stable) {
  auto node = start_node(100, 100, restart_backoff{1s, 4s, 0.0, 10s});
  kill("consumer:leads"); // at once
  EXPECT_TRUE(ready->evaluate().ready);
  kill("consumer:leads"); // waits 1 s
  auto report = ready->evaluate();
  EXPECT_FALSE(report.ready);
  ASSERT_EQ(report.checks.size(), 1u);
  EXPECT_TRUE(contains(report.checks[0].detail,
                       "restarting under backoff, not stable yet: kafka/consumer:leads"))
      << report.checks[0].detail;
  EXPECT_TRUE(contains(report.checks[0].detail, "restart delayed 1000 ms"))
      << report.checks[0].detail;
  EXPECT_EQ(state->backing_off(), (std::vector<std::string>{"kafka/consumer:leads"}));
  advance_time(1s);
  EXPECT_FALSE(ready->evaluate().ready) << "restarted, but not yet up for 10 s";
  advance_time(10s);
  EXPECT_TRUE(ready->evaluate().ready) << ready->evaluate().checks[0].detail;
  EXPECT_TRUE(state->backing_off().empty());
  stop(node);
}

TEST_F(health_monitor_test, escalation_of_the_root_ends_liveness) {
  start_node(1, 100);
  kill("store");
  EXPECT_TRUE(state->tree_up());
  kill("store");
  EXPECT_EQ(state->escalations("node"), 1u);
  EXPECT_FALSE(state->tree_up());
  EXPECT_TRUE(contains(metrics->render(),
                       "phoenix_supervisor_escalations_total{supervisor=\"node\"} 1"));
}

TEST(actor_kind, is_the_child_id_up_to_the_first_colon) {
  EXPECT_EQ(actor_kind("consumer:leads"), "consumer");
  EXPECT_EQ(actor_kind("store"), "store");
  EXPECT_EQ(actor_kind("partition:leads[0]:1"), "partition");
}

} // namespace
