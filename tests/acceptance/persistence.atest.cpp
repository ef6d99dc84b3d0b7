// Acceptance 4, persistence: a node stopped with SIGTERM, and one killed with kill -9
// amid sagas, starts again on its store: sagas finish, completed work is not redone,
// and leads sent again are recognised as duplicates.

#include "harness.hpp"

#include <gtest/gtest.h>
#include <set>

using namespace phoenix::acceptance;

namespace {

class persistence : public acceptance_test {
protected:
  std::string lead(int i) const { return prefix_ + "lead-" + std::to_string(i); }

  void send_leads(int from, int to) {
    lead_sender send{client_properties()};
    for (int i = from; i < to; ++i)
      send.lead(prefix_ + "lead.detected", lead(i), i);
    ASSERT_NO_FATAL_FAILURE(send.flush());
  }

  // The first saga that did not complete, as `phoenix sagas show` prints it.
  std::string unfinished(const phoenix_node& node) const {
    for (auto& s : sagas_of(node))
      if (s.state != "completed")
        return phoenix({"sagas", "show", s.id, "--config", node.config()}).out;
    return "every saga completed";
  }

  std::map<std::string, int> states(const phoenix_node& node) const {
    std::map<std::string, int> out;
    for (auto& s : sagas_of(node))
      ++out[s.state];
    return out;
  }
};

TEST_F(persistence, state_and_dedup_survive_a_restart_and_a_kill_9) {
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(prefix_, 3));
  // Sagas in flight at the kill wait for the killed member's session to time out (6 s)
  // before the restarted node gets their partitions back: a step timeout longer than that
  // lets them finish instead of compensating.
  node_spec spec;
  spec.step_timeout_ms = 30000;
  auto& node = add_node("pers-1", spec);
  const std::map<std::string, std::string> intake{{"consumer", "sagas"},
                                                  {"topic", prefix_ + "lead.detected"}};

  // 1. Ten leads, then an orderly stop.
  ASSERT_NO_FATAL_FAILURE(node.start());
  ASSERT_NO_FATAL_FAILURE(send_leads(0, 10));
  ASSERT_TRUE(
      eventually([&] { return node.metric("phoenix_sagas_completed_total") >= 10; }, 60s));
  ASSERT_EQ(node.stop(), 0) << node.log();

  // 2. Started again: the ten are sent again with ten new ones; only the new ones start
  // sagas, the others are duplicates by their keys in the store.
  ASSERT_NO_FATAL_FAILURE(node.start());
  ASSERT_NO_FATAL_FAILURE(send_leads(0, 20));
  ASSERT_TRUE(eventually(
      [&] {
        return node.metric("phoenix_records_consumed_total", intake) >= 20 &&
               node.metric("phoenix_sagas_completed_total") >= 10;
      },
      60s))
      << node.get("/metrics").body;
  EXPECT_EQ(node.metric("phoenix_records_duplicate_total", {{"consumer", "sagas"}}), 10);
  EXPECT_EQ(node.metric("phoenix_sagas_started_total"), 10);
  EXPECT_EQ(states(node), (std::map<std::string, int>{{"completed", 20}}));

  // 3. kill -9 while forty new leads are on their way.
  ASSERT_NO_FATAL_FAILURE(send_leads(20, 60));
  ASSERT_TRUE(
      eventually([&] { return node.metric("phoenix_sagas_started_total") >= 15; }, 60s));
  node.kill9();
  auto at_crash = states(node);
  int finished_before = at_crash["completed"];
  int started_before = finished_before + at_crash["running"];
  std::cerr << "at the kill: " << finished_before << " completed, " << at_crash["running"]
            << " running of 60\n";

  // 4. Started again and sent all sixty again: every lead ends with one completed
  // saga; those whose saga had started before the kill are duplicates now.
  ASSERT_NO_FATAL_FAILURE(node.start());
  ASSERT_NO_FATAL_FAILURE(send_leads(0, 60));
  ASSERT_TRUE(eventually(
      [&] {
        return states(node) == std::map<std::string, int>{{"completed", 60}};
      },
      90s))
      << unfinished(node);
  ASSERT_TRUE(eventually(
      [&] { return node.metric("phoenix_records_consumed_total", intake) >= 60; }, 30s));
  // Every lead whose saga started before the kill is a duplicate when it comes again.
  EXPECT_GE(node.metric("phoenix_records_duplicate_total", {{"consumer", "sagas"}}),
            started_before);
  // No lead started a second saga: at most the ones not started before the kill start
  // now.
  EXPECT_LE(node.metric("phoenix_sagas_started_total"), 60 - started_before);
  std::set<std::string> ids;
  for (auto& s : sagas_of(node))
    ids.insert(s.id);
  for (int i = 0; i < 60; ++i)
    EXPECT_EQ(ids.count(lead(i)), 1u) << lead(i);
}

} // namespace
