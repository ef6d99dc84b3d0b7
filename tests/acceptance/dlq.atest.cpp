// Acceptance 2, dead letters: a poison pill (no CloudEvents envelope) on the intake and a
// command whose participant stays unavailable through every attempt land in their DLQs
// with the original bytes and the failure headers, and the records behind them on the
// same partition are handled.

#include "harness.hpp"

#include <gtest/gtest.h>

using namespace phoenix::acceptance;

namespace {

class dlq : public acceptance_test {};

TEST_F(dlq, poison_and_exhausted_records_land_with_headers_and_the_partition_moves_on) {
  // One partition: whatever follows the bad records is behind them in the same log.
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(
      prefix_, 1, {"lead.detected.dlq", "lead.enrich.commands.dlq"}));
  const auto detected = prefix_ + "lead.detected";
  const auto enrich = prefix_ + "lead.enrich.commands";
  node_spec spec;
  spec.step_timeout_ms = 3000; // the exhausted lead's saga compensates after it
  spec.extra = "[policy.\"" + enrich +
               "\"]\nattempts = 3\nbackoff_base_ms = 20\nbackoff_cap_ms = 50\n";
  auto& node = add_node("dlq-1", spec);
  ASSERT_NO_FATAL_FAILURE(node.start());

  lead_sender send{client_properties()};
  send.raw(detected, "poison", "not a cloud event");
  send.lead(detected, prefix_ + "lead-0", 0, "\"fail\":{\"enrich\":1000}");
  constexpr int behind = 5;
  for (int i = 1; i <= behind; ++i)
    send.lead(detected, prefix_ + "lead-" + std::to_string(i), i);
  ASSERT_NO_FATAL_FAILURE(send.flush());

  // The poison pill, byte for byte, with why and where from.
  auto poison = read_topic(client_properties(), detected + ".dlq", 1, 60s);
  ASSERT_EQ(poison.size(), 1u);
  EXPECT_EQ(poison[0].key, "poison");
  EXPECT_EQ(poison[0].value, "not a cloud event");
  EXPECT_EQ(poison[0].headers["phoenix-error-class"], "undecodable");
  EXPECT_EQ(poison[0].headers["phoenix-original-topic"], detected);
  EXPECT_EQ(poison[0].headers["phoenix-original-partition"], "0");
  EXPECT_EQ(poison[0].headers["phoenix-original-offset"], "0");
  EXPECT_EQ(poison[0].headers["phoenix-node-id"], "dlq-1");

  // The enrich command of lead-0 after its three attempts, equal to the original.
  auto exhausted = read_topic(client_properties(), enrich + ".dlq", 1, 60s);
  ASSERT_EQ(exhausted.size(), 1u);
  auto& dead = exhausted[0];
  EXPECT_EQ(dead.headers["phoenix-error-class"], "handler_retry");
  EXPECT_EQ(dead.headers["phoenix-attempts"], "3");
  EXPECT_EQ(dead.headers["phoenix-original-topic"], enrich);
  EXPECT_FALSE(dead.headers["phoenix-first-failure-ms"].empty());
  EXPECT_EQ(dead.headers["saga-id"], prefix_ + "lead-0");
  auto commands = read_topic(client_properties(), enrich, behind + 1, 30s);
  bool found = false;
  for (auto& c : commands)
    if (std::to_string(c.offset) == dead.headers["phoenix-original-offset"]) {
      found = true;
      EXPECT_EQ(c.key, dead.key);
      EXPECT_EQ(c.value, dead.value);
      for (auto& [k, v] : c.headers)
        EXPECT_EQ(dead.headers[k], v) << "header " << k;
    }
  EXPECT_TRUE(found) << "no command at offset " << dead.headers["phoenix-original-offset"];

  // Behind both: every other lead completed; lead-0 compensated after its step timeout.
  ASSERT_TRUE(eventually(
      [&] {
        return node.metric("phoenix_sagas_completed_total") >= behind &&
               node.metric("phoenix_sagas_compensated_total") >= 1;
      },
      60s))
      << node.get("/metrics").body;
  for (auto& s : sagas_of(node))
    EXPECT_EQ(s.state, s.id == prefix_ + "lead-0" ? "compensated" : "completed") << s.id;
  EXPECT_EQ(sagas_of(node).size(), static_cast<std::size_t>(behind + 1));
  EXPECT_EQ(node.metric("phoenix_records_dead_lettered_total",
                        {{"consumer", "sagas"}, {"topic", detected}}),
            1);
  EXPECT_EQ(node.metric("phoenix_records_undecodable_total",
                        {{"consumer", "sagas"}, {"topic", detected}}),
            1);
  EXPECT_EQ(node.metric("phoenix_records_dead_lettered_total",
                        {{"consumer", "participants"}, {"topic", enrich}}),
            1);
  EXPECT_EQ(node.metric("phoenix_record_failed_attempts_total",
                        {{"consumer", "participants"}, {"topic", enrich}}),
            3);

  // What an operator sees: `phoenix dlq list` on the node's config.
  auto listed = phoenix({"dlq", "list", "--config", node.config(), "--topic", enrich});
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find("handler_retry"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(prefix_ + "lead-0"), std::string::npos) << listed.out;
}

} // namespace
