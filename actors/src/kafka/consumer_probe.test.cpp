#include "phoenix/actors/kafka/consumer_probe.hpp"

#include <gtest/gtest.h>

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(consumer_probe, families_are_declared_before_any_consumer) {
  observability::metrics_registry metrics;
  kafka::consumer_probe probe{metrics};
  auto text = metrics.render();
  EXPECT_TRUE(contains(text, "# TYPE phoenix_records_consumed_total counter")) << text;
  EXPECT_TRUE(contains(text, "# TYPE phoenix_record_handling_seconds histogram")) << text;
  EXPECT_TRUE(contains(text, "# TYPE phoenix_consumer_lag_records gauge")) << text;
}

TEST(consumer_probe, sums_partitions_per_topic_and_reports_lag_of_assigned_ones) {
  observability::metrics_registry metrics;
  kafka::consumer_probe probe{metrics};
  auto stats = std::make_shared<kafka::consumer_stats>();
  auto p0 = stats->partitions.of({"leads", 0});
  auto p1 = stats->partitions.of({"leads", 1});
  auto other = stats->partitions.of({"scores", 0});
  p0->consumed = 10;
  p0->handled = 9;
  p0->rejected = 1;
  p0->assigned = true;
  p0->committed = 10;
  p0->high_watermark = 25;
  p0->in_flight = 4;
  p1->consumed = 5;
  p1->handled = 5;
  p0->failed_attempts = 6;
  p1->failed_attempts = 1;
  p0->retry_topic_records = 2;
  p1->dead_lettered = 1;
  p0->produce_failures = 4;
  p1->assigned = false; // revoked: counted, but no lag or in-flight series
  p1->committed = 5;
  p1->high_watermark = 50;
  other->consumed = 1;
  other->assigned = true; // no commit yet: lag unknown
  other->high_watermark = 3;
  p0->handling.observe(200us); // le 0.00025
  p1->handling.observe(3ms);   // le 0.005
  stats->commits = 2;
  stats->commit_latency.observe(20ms);
  p0->duplicates = 4; // per topic: the partitions' sum
  p1->duplicates = 3;
  other->duplicates = 1;
  stats->store_retries = 3;
  stats->store_waiting = 1;
  stats->fetch_pauses = 6;
  probe.add("consumer:leads", stats);

  auto text = metrics.render();
  const std::string leads = "consumer=\"consumer:leads\",topic=\"leads\"";
  EXPECT_TRUE(contains(text, "phoenix_records_consumed_total{" + leads + "} 15")) << text;
  EXPECT_TRUE(contains(text, "phoenix_records_handled_total{" + leads + "} 14"));
  EXPECT_TRUE(contains(text, "phoenix_record_failed_attempts_total{" + leads + "} 7"));
  EXPECT_TRUE(contains(text, "phoenix_records_retry_topic_total{" + leads + "} 2"));
  EXPECT_TRUE(contains(text, "phoenix_records_dead_lettered_total{" + leads + "} 1"));
  EXPECT_TRUE(contains(text, "phoenix_record_move_failures_total{" + leads + "} 4"));
  EXPECT_TRUE(contains(text, "phoenix_records_rejected_total{" + leads + "} 1"));
  EXPECT_TRUE(contains(
      text, "phoenix_consumer_lag_records{consumer=\"consumer:leads\",partition=\"0\","
            "topic=\"leads\"} 15"));
  EXPECT_FALSE(contains(text, "phoenix_consumer_lag_records{consumer=\"consumer:leads\","
                              "partition=\"1\""))
      << "revoked partition has no lag series";
  EXPECT_FALSE(contains(text, "topic=\"scores\"} 3")) << "no lag before a commit";
  EXPECT_TRUE(contains(
      text,
      "phoenix_partition_in_flight_records{consumer=\"consumer:leads\",partition=\"0\","
      "topic=\"leads\"} 4"));
  EXPECT_TRUE(contains(text, "phoenix_record_handling_seconds_bucket{" + leads +
                                 ",le=\"0.00025\"} 1"))
      << text;
  EXPECT_TRUE(contains(text, "phoenix_record_handling_seconds_bucket{" + leads +
                                 ",le=\"0.005\"} 2"));
  EXPECT_TRUE(contains(text, "phoenix_record_handling_seconds_count{" + leads + "} 2"));
  EXPECT_TRUE(
      contains(text, "phoenix_offset_commit_seconds_count{consumer=\"consumer:leads\"} 1"));
  EXPECT_TRUE(
      contains(text, "phoenix_offset_commits_total{consumer=\"consumer:leads\"} 2"));
  EXPECT_TRUE(contains(text, "phoenix_assigned_partitions{consumer=\"consumer:leads\"} 2"));
  EXPECT_TRUE(contains(
      text,
      "phoenix_records_duplicate_total{consumer=\"consumer:leads\",topic=\"leads\"} 7"))
      << text;
  EXPECT_TRUE(contains(
      text,
      "phoenix_records_duplicate_total{consumer=\"consumer:leads\",topic=\"scores\"} 1"));
  EXPECT_TRUE(contains(text, "phoenix_store_retries_total{consumer=\"consumer:leads\"} 3"));
  EXPECT_TRUE(contains(text, "phoenix_store_waiting_lanes{consumer=\"consumer:leads\"} 1"));
  EXPECT_TRUE(contains(
      text, "phoenix_partition_fetch_pauses_total{consumer=\"consumer:leads\"} 6"));
}

TEST(duration_histogram, puts_each_duration_in_the_first_bucket_that_holds_it) {
  observability::duration_histogram h;
  h.observe(50us); // exactly the first bound
  h.observe(51us); // the second
  h.observe(1h);   // above every bound
  h.observe(-1ms); // clock went back: counted as 0
  EXPECT_EQ(h.count(0), 2u);
  EXPECT_EQ(h.count(1), 1u);
  EXPECT_EQ(h.count(observability::duration_histogram::bounds.size()), 1u);
  EXPECT_NEAR(h.sum_seconds(), 3600.000101, 1e-9);
}

TEST(duration_histogram, adds_a_tally_in_one_step_and_empties_it) {
  observability::duration_histogram direct;
  observability::duration_histogram batched;
  observability::duration_tally tally;
  for (std::chrono::nanoseconds d : {50us, 51us, 3000us, 3600000000us, -1000us}) {
    direct.observe(d);
    tally.observe(d);
  }
  EXPECT_EQ(tally.total(), 5u);
  EXPECT_EQ(batched.count(0), 0u); // nothing until added
  batched.add(tally);
  EXPECT_EQ(tally.total(), 0u);
  batched.add(tally); // an empty tally adds nothing
  for (std::size_t i = 0; i < observability::duration_histogram::bucket_count; ++i)
    EXPECT_EQ(batched.count(i), direct.count(i)) << "bucket " << i;
  EXPECT_NEAR(batched.sum_seconds(), direct.sum_seconds(), 1e-9);
  EXPECT_EQ(batched.count(0), 2u);
}

} // namespace
