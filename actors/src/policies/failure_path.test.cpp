#include "policies/failure_path.hpp"

#include <gtest/gtest.h>

using namespace phoenix;
using namespace phoenix::policies;
using std::chrono::milliseconds;

namespace {

kafka::handler_status done(const runtime::envelope_view&, const kafka::record_view&) {
  return kafka::handler_status::done;
}

TEST(failure_path, retry_topics_are_read_only_with_a_producer_and_keep_their_levels) {
  kafka::group_consumer_config cfg;
  cfg.policies.by_topic["orders"].retry_topics = {milliseconds{1000}, milliseconds{9000}};
  cfg.node_id = "n1";
  std::map<std::string, kafka::handler> handlers{{"orders", done}, {"scores", done}};
  auto without = add_retry_topics(cfg, handlers);
  EXPECT_EQ(handlers.size(), 2u); // nothing can reach a retry topic without a producer
  EXPECT_EQ(without.size(), 2u);
  EXPECT_FALSE(without.at("orders")->producer);

  cfg.producer = std::make_shared<runtime::actor_slot>();
  auto with = add_retry_topics(cfg, handlers);
  ASSERT_EQ(handlers.size(), 4u);
  EXPECT_EQ(handlers.count("orders.retry.1"), 1u);
  EXPECT_EQ(handlers.count("orders.retry.2"), 1u);
  EXPECT_EQ(with.at("orders")->level, 0);
  EXPECT_EQ(with.at("orders.retry.2")->level, 2);
  EXPECT_EQ(with.at("orders.retry.2")->topic, "orders");
  EXPECT_EQ(with.at("orders.retry.2")->node_id, "n1");
  EXPECT_TRUE(with.at("scores")->policy.retry_topics.empty());
  // Kept below half of the consumer's max.poll.interval.ms.
  cfg.properties["max.poll.interval.ms"] = "3000";
  EXPECT_EQ(add_retry_topics(cfg, handlers).at("orders")->policy.max_in_place,
            milliseconds{1499});
}

TEST(failure_path, attempts_count_per_level_and_over_all_levels) {
  lane_policy p;
  p.topic = "orders";
  p.node_id = "n1";
  record_failure f;
  f.start(41, p, 2, {});
  f.failed("handler_retry", "again");
  f.failed("handler_retry", "again");
  EXPECT_EQ(f.attempts, 2);
  EXPECT_EQ(f.marks.attempts, 2);
  EXPECT_EQ(f.marks.original_topic, "orders");
  EXPECT_EQ(f.marks.original_partition, 2);
  EXPECT_EQ(f.marks.original_offset, 41);
  auto first = f.marks.first_failure_ms;
  EXPECT_GT(first, 0);

  // On retry topic 1 the record carries what happened before.
  p.level = 1;
  record_failure g;
  g.start(7, p, 0, f.marks);
  g.failed("crash", "boom");
  EXPECT_EQ(g.attempts, 1);       // at this level
  EXPECT_EQ(g.marks.attempts, 3); // over all levels
  EXPECT_EQ(g.marks.original_offset, 41);
  EXPECT_EQ(g.marks.first_failure_ms, first);
  EXPECT_EQ(g.marks.error_class, "crash");
}

TEST(failure_path, moved_records_name_their_topic_and_carry_a_due_time_only_to_retry) {
  lane_policy p;
  p.topic = "orders";
  record_failure f;
  f.start(3, p, 0, {});
  f.failed("handler_retry", "again");
  std::vector<runtime::header_view> headers{{"ce_id", "e1"}};
  auto before = wall_ms();
  auto retry = moved_record(p, {next_step::kind::retry_topic, milliseconds{5000}, 1}, f,
                            "k", "v", headers);
  EXPECT_EQ(retry.topic, "orders.retry.1");
  EXPECT_EQ(retry.key, "k");
  EXPECT_EQ(retry.value, "v");
  std::vector<runtime::header_view> views;
  for (auto& h : retry.headers)
    views.push_back({h.key, h.value});
  EXPECT_GE(read_marks(views).due_ms, before + 5000);
  auto dead = moved_record(p, {next_step::kind::dead_letter, milliseconds{0}, 0}, f, "k",
                           "v", headers);
  EXPECT_EQ(dead.topic, "orders.dlq");
  views.clear();
  for (auto& h : dead.headers)
    views.push_back({h.key, h.value});
  EXPECT_EQ(read_marks(views).due_ms, -1);
  EXPECT_EQ(dead.headers.front().key, "ce_id");
}

TEST(failure_path, a_moved_record_keeps_a_null_key_and_value_apart_from_empty_ones) {
  lane_policy p;
  p.topic = "orders";
  record_failure f;
  f.start(1, p, 0, {});
  f.failed("handler_rejected", "no");
  std::vector<runtime::header_view> headers;
  next_step dead{next_step::kind::dead_letter, milliseconds{0}, 0};
  auto null = moved_record(p, dead, f, std::string_view{}, std::string_view{}, headers);
  EXPECT_TRUE(null.null_key);
  EXPECT_TRUE(null.null_value);
  auto empty = moved_record(p, dead, f, "", "", headers);
  EXPECT_FALSE(empty.null_key);
  EXPECT_FALSE(empty.null_value);
  EXPECT_EQ(empty.key, "");
  EXPECT_EQ(empty.value, "");
}

} // namespace
