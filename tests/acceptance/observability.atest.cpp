// Acceptance 6, observability: what /metrics counts equals what was sent, handled,
// skipped and dead-lettered; /ready names its checks and is true while the node works;
// /health answers; the node stops cleanly on SIGTERM.

#include "harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace phoenix::acceptance;

namespace {

class observability : public acceptance_test {};

TEST_F(observability, metrics_and_readiness_reflect_what_happened) {
  ASSERT_NO_FATAL_FAILURE(
      create_pipeline_topics(prefix_, 2, {"lead.detected.dlq", "lead.score.commands.dlq"}));
  const auto detected = prefix_ + "lead.detected";
  const auto score = prefix_ + "lead.score.commands";
  node_spec spec;
  spec.extra = "[policy.\"" + score + "\"]\nattempts = 3\nbackoff_base_ms = 20\n";
  auto& node = add_node("obs-1", spec);
  ASSERT_NO_FATAL_FAILURE(node.start());

  // Ready: every check passes, the consumers of the pipeline among them.
  auto ready = node.get("/ready");
  ASSERT_EQ(ready.status, 200) << ready.body;
  auto body = nlohmann::json::parse(ready.body);
  EXPECT_EQ(body["node"], "obs-1");
  std::map<std::string, bool> checks;
  for (auto& c : body["checks"])
    checks[c["name"]] = c["ok"];
  for (auto* name : {"consumer:sagas", "consumer:participants", "store", "node"})
    EXPECT_TRUE(checks[name]) << name << " in " << ready.body;
  EXPECT_EQ(node.get("/health").status, 200);

  constexpr int leads = 12, resent = 3, poison = 2;
  lead_sender send{client_properties()};
  for (int i = 0; i < leads; ++i) // lead-0's scoring fails once, then works
    send.lead(detected, prefix_ + "lead-" + std::to_string(i), i,
              i == 0 ? "\"fail\":{\"score\":1}" : "");
  for (int i = 0; i < poison; ++i)
    send.raw(detected, "poison-" + std::to_string(i), "{}");
  ASSERT_NO_FATAL_FAILURE(send.flush());
  for (int i = 0; i < resent; ++i)
    send.lead(detected, prefix_ + "lead-" + std::to_string(i), i);
  ASSERT_NO_FATAL_FAILURE(send.flush());

  const std::map<std::string, std::string> intake{{"consumer", "sagas"},
                                                  {"topic", detected}};
  ASSERT_TRUE(eventually(
      [&] {
        return node.metric("phoenix_sagas_completed_total") >= leads &&
               node.metric("phoenix_records_consumed_total", intake) >=
                   leads + resent + poison &&
               node.metric("phoenix_records_dead_lettered_total", intake) >= poison &&
               node.metric("phoenix_records_handled_total",
                           {{"consumer", "sagas"},
                            {"topic", prefix_ + "lead.saga.replies"}}) >= 4 * leads;
      },
      60s))
      << node.get("/metrics").body;
  auto text = node.get("/metrics").body;
  auto m = [&](const std::string& name, const std::map<std::string, std::string>& l) {
    return metric_in(text, name, l);
  };
  EXPECT_EQ(m("phoenix_records_consumed_total", intake), leads + resent + poison);
  EXPECT_EQ(m("phoenix_records_handled_total", intake), leads);
  EXPECT_EQ(m("phoenix_records_duplicate_total", {{"consumer", "sagas"}}), resent);
  EXPECT_EQ(m("phoenix_records_undecodable_total", intake), poison);
  EXPECT_EQ(m("phoenix_records_dead_lettered_total", intake), poison);
  EXPECT_EQ(m("phoenix_sagas_started_total", {{"type", "lead"}}), leads);
  EXPECT_EQ(m("phoenix_sagas_completed_total", {{"type", "lead"}}), leads);
  EXPECT_EQ(m("phoenix_sagas_compensated_total", {{"type", "lead"}}), 0);
  EXPECT_EQ(m("phoenix_sagas_in_flight", {{"type", "lead"}}), 0);
  // Four steps a lead: as many commands handled by the participants, and replies read.
  const std::map<std::string, std::string> scoring{{"consumer", "participants"},
                                                   {"topic", score}};
  EXPECT_EQ(m("phoenix_records_handled_total", scoring), leads);
  EXPECT_EQ(m("phoenix_records_retried_total", scoring), 1);
  EXPECT_EQ(m("phoenix_record_failed_attempts_total", scoring), 1);
  EXPECT_EQ(m("phoenix_records_dead_lettered_total", scoring), 0);
  EXPECT_EQ(m("phoenix_records_handled_total",
              {{"consumer", "sagas"}, {"topic", prefix_ + "lead.saga.replies"}}),
            4 * leads);
  // Every partition of the pipeline's topics is assigned to this one node.
  EXPECT_EQ(m("phoenix_assigned_partitions", {{"consumer", "sagas"}}), 2 * 2);
  EXPECT_EQ(m("phoenix_assigned_partitions", {{"consumer", "participants"}}), 4 * 2);
  EXPECT_EQ(m("phoenix_actor_restarts_total", {}), 0);
  EXPECT_EQ(node.get("/ready").status, 200);

  // `phoenix trace` on the node's store: the journey of lead-0, retried once at scoring.
  const auto lead0 = prefix_ + "lead-0";
  phoenix::testkit::process_result trace;
  EXPECT_TRUE(eventually(
      [&] {
        trace = phoenix({"trace", lead0, "--config", node.config()});
        return trace.code == 0 && trace.out.find("handled") != std::string::npos;
      },
      30s))
      << trace.out << trace.err;
  EXPECT_NE(trace.out.find("obs-1"), std::string::npos) << trace.out;
  EXPECT_NE(trace.out.find(detected), std::string::npos) << trace.out;

  EXPECT_EQ(node.stop(), 0) << node.log();
}

} // namespace
