// Acceptance 1, idempotency: a lead event delivered twice (the radar resends it) starts
// one saga and reaches the CRM once.

#include "harness.hpp"

#include <gtest/gtest.h>

using namespace phoenix::acceptance;

namespace {

class idempotency : public acceptance_test {};

TEST_F(idempotency, duplicates_are_applied_once) {
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(prefix_, 3));
  auto& node = add_node("idem-1");
  ASSERT_NO_FATAL_FAILURE(node.start());
  const auto detected = prefix_ + "lead.detected";
  constexpr int leads = 10, resent = 5;
  lead_sender send{client_properties()};
  for (int i = 0; i < leads; ++i)
    send.lead(detected, prefix_ + "lead-" + std::to_string(i), i);
  ASSERT_NO_FATAL_FAILURE(send.flush());
  // The radar sends the first five again, each twice (same ce_id and ce_source).
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < resent; ++i)
      send.lead(detected, prefix_ + "lead-" + std::to_string(i), i);
  ASSERT_NO_FATAL_FAILURE(send.flush());

  const std::map<std::string, std::string> intake{{"consumer", "sagas"},
                                                  {"topic", detected}};
  ASSERT_TRUE(eventually(
      [&] {
        return node.metric("phoenix_sagas_completed_total") >= leads &&
               node.metric("phoenix_records_consumed_total", intake) >= leads + 2 * resent;
      },
      60s))
      << node.get("/metrics").body;
  // Counted per consumer (the saga consumer reads the replies too; none repeat here).
  EXPECT_EQ(node.metric("phoenix_records_duplicate_total", {{"consumer", "sagas"}}),
            2 * resent);
  EXPECT_EQ(node.metric("phoenix_records_handled_total", intake), leads);
  EXPECT_EQ(node.metric("phoenix_sagas_started_total"), leads);
  EXPECT_EQ(node.metric("phoenix_sagas_completed_total"), leads);
  // Each lead reached the CRM once: one notification command handled per lead.
  EXPECT_EQ(
      node.metric("phoenix_records_handled_total",
                  {{"consumer", "participants"}, {"topic", prefix_ + "lead.crm.commands"}}),
      leads);

  // The store holds one saga per lead, each completed.
  auto sagas = sagas_of(node);
  ASSERT_EQ(sagas.size(), static_cast<std::size_t>(leads));
  for (auto& s : sagas) {
    EXPECT_EQ(s.type, "lead");
    EXPECT_EQ(s.state, "completed") << s.id;
  }
}

} // namespace
