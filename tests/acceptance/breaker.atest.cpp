// Acceptance 8, circuit breaker: the CRM fails three calls in a row and its breaker
// opens; while it is open the node takes no record from the CRM's command topic (its
// partitions are paused) and /ready is false (the breaker is required); after the
// cool-down a probe goes through, and once the CRM answers again the breaker closes,
// the held commands are handled and both sagas complete.

#include "harness.hpp"

#include <gtest/gtest.h>
#include <thread>

using namespace phoenix::acceptance;

namespace {

class breaker : public acceptance_test {};

// What /metrics says about the CRM's breaker and the records of its topic.
struct sample {
  int state = -1;    // 0 closed, 1 open, 2 half-open
  double opened = 0; // transitions to open so far
  double consumed = 0;
  double paused = 0;
  bool after_second_command = false;
};

TEST_F(breaker, opens_pauses_its_partitions_probes_and_closes) {
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(prefix_, 2));
  const auto crm = prefix_ + "lead.crm.commands";
  node_spec spec;
  spec.step_timeout_ms = 60000;
  spec.extra = "[breaker.\"crm\"]\nconsecutive_failures = 3\nfailure_rate = 0.0\n"
               "cool_down_ms = 1500\nrequired = true\n"
               "[policy.\"" +
               crm +
               "\"]\nattempts = 50\nbackoff_base_ms = 20\nbackoff_cap_ms = 50\n"
               "max_in_place_ms = 60000\n";
  auto& node = add_node("breaker-1", spec);
  ASSERT_NO_FATAL_FAILURE(node.start());
  const std::map<std::string, std::string> at_crm{{"consumer", "participants"},
                                                  {"topic", crm}};
  auto take = [&] {
    auto text = node.get("/metrics").body;
    sample s;
    s.state =
        static_cast<int>(metric_in(text, "phoenix_breaker_state", {{"downstream", "crm"}}));
    s.opened = metric_in(text, "phoenix_breaker_transitions_total",
                         {{"downstream", "crm"}, {"to", "open"}});
    s.consumed = metric_in(text, "phoenix_records_consumed_total", at_crm);
    s.paused = metric_in(text, "phoenix_breaker_paused_partitions",
                         {{"consumer", "participants"}});
    return s;
  };
  EXPECT_EQ(take().state, 0);

  // The CRM is down for lead-down's first five calls: three open the breaker.
  lead_sender send{client_properties()};
  send.lead(prefix_ + "lead.detected", prefix_ + "lead-down", 1,
            "\"fail\":{\"notify_crm\":5}");
  ASSERT_NO_FATAL_FAILURE(send.flush());
  ASSERT_TRUE(eventually([&] { return take().state == 1; }, 60s))
      << node.get("/metrics").body;
  auto ready = node.get("/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("breaker:crm"), std::string::npos) << ready.body;

  // A second lead reaches the CRM step while the breaker holds the first.
  send.lead(prefix_ + "lead.detected", prefix_ + "lead-ok", 2);
  ASSERT_NO_FATAL_FAILURE(send.flush());
  std::vector<sample> samples;
  bool second_command = false;
  std::thread watch_topic{
      [&] { second_command = read_topic(client_properties(), crm, 2, 60s).size() == 2; }};
  ASSERT_TRUE(eventually(
      [&] {
        auto s = take();
        s.after_second_command = second_command;
        samples.push_back(s);
        return s.state == 0 && node.metric("phoenix_sagas_completed_total") >= 2;
      },
      60s))
      << node.get("/metrics").body;
  watch_topic.join();
  ASSERT_TRUE(second_command);

  // Between two samples of one open period nothing was taken from the CRM's topic, and
  // its partitions were paused; such periods were seen after the second command existed.
  int held_pairs = 0;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    auto& a = samples[i - 1];
    auto& b = samples[i];
    if (a.state != 1 || b.state != 1 || a.opened != b.opened)
      continue;
    EXPECT_EQ(a.consumed, b.consumed) << "records taken while the breaker was open";
    EXPECT_GT(b.paused, 0);
    held_pairs += a.after_second_command ? 1 : 0;
  }
  EXPECT_GT(held_pairs, 0) << "no open period observed after the second command";

  auto text = node.get("/metrics").body;
  auto transitions = [&](const char* to) {
    return metric_in(text, "phoenix_breaker_transitions_total",
                     {{"downstream", "crm"}, {"to", to}});
  };
  EXPECT_GE(transitions("open"), 1);
  EXPECT_GE(transitions("half_open"), 1);
  EXPECT_GE(transitions("closed"), 1);
  EXPECT_EQ(
      metric_in(text, "phoenix_breaker_paused_partitions", {{"consumer", "participants"}}),
      0);
  // Five failed calls, then each command handled once.
  EXPECT_EQ(metric_in(text, "phoenix_record_failed_attempts_total", at_crm), 5) << text;
  EXPECT_EQ(metric_in(text, "phoenix_record_handling_seconds_count", at_crm), 7);
  EXPECT_EQ(metric_in(text, "phoenix_records_handled_total", at_crm), 2);
  EXPECT_EQ(metric_in(text, "phoenix_records_dead_lettered_total", at_crm), 0);
  EXPECT_TRUE(node.wait_ready(10s)) << node.get("/ready").body;
  for (auto& s : sagas_of(node))
    EXPECT_EQ(s.state, "completed") << s.id;
}

} // namespace
