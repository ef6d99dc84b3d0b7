// Acceptance 3, scalability: a second node joins the group, takes partitions from the
// first, and the two share the work: each handles leads of its own partitions, and
// together they finish every saga once. (Both keep their sagas in one store, as a
// cluster's nodes do: a reply read by the other node finds its saga there.)

#include "harness.hpp"

#include <gtest/gtest.h>

using namespace phoenix::acceptance;

namespace {

class scalability : public acceptance_test {};

TEST_F(scalability, a_second_node_takes_partitions_and_shares_the_work) {
  constexpr int partitions = 4, leads = 40;
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(prefix_, partitions));
  const auto detected = prefix_ + "lead.detected";
  node_spec shared;
  shared.store = dir_ + "/cluster.db";
  auto& a = add_node("scale-a", shared);
  auto& b = add_node("scale-b", shared);
  // The lead.detected partitions a node's saga consumer owns: it reports each
  // assigned partition's in-flight gauge.
  auto owned = [&](const phoenix_node& n) {
    return samples_in(n.get("/metrics").body, "phoenix_partition_in_flight_records",
                      {{"consumer", "sagas"}, {"topic", detected}});
  };

  ASSERT_NO_FATAL_FAILURE(a.start());
  ASSERT_TRUE(eventually([&] { return owned(a) == partitions; }, 30s)) << owned(a);
  ASSERT_NO_FATAL_FAILURE(b.start());
  ASSERT_TRUE(eventually(
      [&] {
        auto in_a = owned(a), in_b = owned(b);
        return in_a > 0 && in_b > 0 && in_a + in_b == partitions;
      },
      60s))
      << "a owns " << owned(a) << ", b owns " << owned(b);
  ASSERT_TRUE(a.wait_ready(30s)) << a.get("/ready").body;
  ASSERT_TRUE(b.wait_ready(30s)) << b.get("/ready").body;

  lead_sender send{client_properties()};
  for (int i = 0; i < leads; ++i)
    send.lead(detected, prefix_ + "lead-" + std::to_string(i), i);
  ASSERT_NO_FATAL_FAILURE(send.flush());

  auto completed = [&] {
    return a.metric("phoenix_sagas_completed_total") +
           b.metric("phoenix_sagas_completed_total");
  };
  ASSERT_TRUE(eventually([&] { return completed() >= leads; }, 60s))
      << completed() << " completed\n"
      << a.get("/metrics").body;
  const std::map<std::string, std::string> intake{{"consumer", "sagas"},
                                                  {"topic", detected}};
  auto on_a = a.metric("phoenix_records_handled_total", intake);
  auto on_b = b.metric("phoenix_records_handled_total", intake);
  std::cerr << "leads handled: " << on_a << " by a, " << on_b << " by b\n";
  EXPECT_GT(on_a, 0);
  EXPECT_GT(on_b, 0);
  EXPECT_EQ(on_a + on_b, leads);
  EXPECT_EQ(a.metric("phoenix_sagas_started_total") +
                b.metric("phoenix_sagas_started_total"),
            leads);
  EXPECT_EQ(completed(), leads);
  // Both nodes' participants own command partitions (cooperative-sticky balances their
  // count over the four command topics, so not necessarily of each topic). Every lead
  // reached the CRM, at least once: each node's outbox relay publishes every pending row
  // of the shared store, so a command may go out twice; the participants answer a
  // repeated command id from memory.
  EXPECT_GT(a.metric("phoenix_assigned_partitions", {{"consumer", "participants"}}), 0);
  EXPECT_GT(b.metric("phoenix_assigned_partitions", {{"consumer", "participants"}}), 0);
  const std::map<std::string, std::string> crm{{"consumer", "participants"},
                                               {"topic", prefix_ + "lead.crm.commands"}};
  EXPECT_GE(a.metric("phoenix_records_handled_total", crm) +
                b.metric("phoenix_records_handled_total", crm),
            leads);
  auto sagas = sagas_of(a);
  EXPECT_EQ(sagas.size(), static_cast<std::size_t>(leads));
  for (auto& s : sagas)
    EXPECT_EQ(s.state, "completed") << s.id;
}

} // namespace
