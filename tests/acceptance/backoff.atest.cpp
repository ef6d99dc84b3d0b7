// Acceptance 7, backoff: retries follow the topic's policy. With `attempts = 2` and one
// retry topic due after 1.5 s, a command that fails three times is tried twice in place,
// moved to the retry topic with a due time 1.5 s after its first failure, and handled
// there no earlier than that; one that always fails reaches the DLQ after exactly four
// attempts, again not before its due time. Only lower bounds taken from the policy are
// asserted; nothing about how fast it went.

#include "harness.hpp"

#include <gtest/gtest.h>

using namespace phoenix::acceptance;

namespace {

class backoff : public acceptance_test {};

std::int64_t number(const std::map<std::string, std::string>& headers,
                    const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() || it->second.empty() ? -1 : std::stoll(it->second);
}

TEST_F(backoff, retry_timing_and_attempts_follow_the_policy) {
  constexpr std::int64_t due_after_ms = 1500;
  ASSERT_NO_FATAL_FAILURE(create_pipeline_topics(
      prefix_, 1, {"lead.score.commands.retry.1", "lead.score.commands.dlq"}));
  const auto score = prefix_ + "lead.score.commands";
  node_spec spec;
  spec.step_timeout_ms = 30000; // the step outlasts its retries
  spec.extra = "[policy.\"" + score +
               "\"]\nattempts = 2\nbackoff_base_ms = 200\nbackoff_cap_ms = 200\n"
               "retry_topics_ms = [" +
               std::to_string(due_after_ms) + "]\n";
  auto& node = add_node("backoff-1", spec);
  ASSERT_NO_FATAL_FAILURE(node.start());

  const auto recovers = prefix_ + "lead-recovers", fails = prefix_ + "lead-fails";
  lead_sender send{client_properties()};
  send.lead(prefix_ + "lead.detected", recovers, 1, "\"fail\":{\"score\":3}");
  send.lead(prefix_ + "lead.detected", fails, 2, "\"fail\":{\"score\":1000}");
  ASSERT_NO_FATAL_FAILURE(send.flush());

  // Both moved to the retry topic after the two attempts in place.
  auto retried = read_topic(client_properties(), score + ".retry.1", 2, 60s);
  ASSERT_EQ(retried.size(), 2u);
  std::map<std::string, read_record> moved;
  for (auto& r : retried) {
    EXPECT_EQ(r.headers["phoenix-attempts"], "2");
    EXPECT_EQ(r.headers["phoenix-error-class"], "handler_retry");
    auto first = number(r.headers, "phoenix-first-failure-ms");
    auto due = number(r.headers, "phoenix-due-ms");
    ASSERT_GT(first, 0);
    EXPECT_GE(due, first + due_after_ms) << "due before the policy's delay";
    moved[r.headers["saga-id"]] = r;
  }
  ASSERT_EQ(moved.count(recovers), 1u);
  ASSERT_EQ(moved.count(fails), 1u);

  // The one that recovers was answered (attempt four) no earlier than its due time.
  ASSERT_TRUE(
      eventually([&] { return node.metric("phoenix_sagas_completed_total") >= 1; }, 60s));
  // Four replies of the one that completed, two of the other (its score never answers).
  auto replies = read_topic(client_properties(), prefix_ + "lead.saga.replies", 6, 30s);
  int score_replies = 0;
  for (auto& r : replies)
    if (r.headers["saga-id"] == recovers && r.headers["saga-step"] == "score") {
      ++score_replies;
      EXPECT_GE(r.timestamp_ms, number(moved[recovers].headers, "phoenix-due-ms"))
          << "handled before its retry topic's due time";
    }
  EXPECT_EQ(score_replies, 1);

  // The one that always fails: in the DLQ after 2 + 2 attempts, not before its due time.
  auto dead = read_topic(client_properties(), score + ".dlq", 1, 60s);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].headers["saga-id"], fails);
  EXPECT_EQ(dead[0].headers["phoenix-attempts"], "4");
  EXPECT_EQ(dead[0].headers["phoenix-first-failure-ms"],
            moved[fails].headers["phoenix-first-failure-ms"]);
  EXPECT_GE(dead[0].timestamp_ms, number(moved[fails].headers, "phoenix-due-ms"));

  // The counters agree: 3 + 4 failed attempts, two moves to the retry topic, one to the
  // DLQ, whichever of the two topics the attempt read the record from. A move is counted
  // when its delivery report reaches the lane, which can be just after a reader sees the
  // record in the DLQ, so the scrape waits for that count first.
  std::string text;
  auto both = [&](const std::string& name) {
    return metric_in(text, name, {{"consumer", "participants"}, {"topic", score}}) +
           metric_in(text, name,
                     {{"consumer", "participants"}, {"topic", score + ".retry.1"}});
  };
  EXPECT_TRUE(eventually(
      [&] {
        text = node.get("/metrics").body;
        return both("phoenix_records_dead_lettered_total") >= 1;
      },
      30s));
  EXPECT_EQ(both("phoenix_record_failed_attempts_total"), 7) << text;
  EXPECT_EQ(both("phoenix_records_retry_topic_total"), 2);
  EXPECT_EQ(both("phoenix_records_dead_lettered_total"), 1);
  // One wait in place per record and level.
  EXPECT_EQ(both("phoenix_records_retried_total"), 4);
}

} // namespace
