#include "phoenix/actors/policies/retry.hpp"

#include "phoenix/actors/policies/backoff.hpp"

#include <gtest/gtest.h>
#include <limits>
#include <random>

using namespace phoenix;
using namespace phoenix::policies;
using std::chrono::milliseconds;
using kind = next_step::kind;

namespace {

runtime::retry_policy policy(int attempts, std::int64_t base, std::int64_t cap) {
  runtime::retry_policy p;
  p.attempts = attempts;
  p.backoff_base = milliseconds{base};
  p.backoff_cap = milliseconds{cap};
  return p;
}

TEST(backoff, ceiling_doubles_from_the_base_and_stops_at_the_cap) {
  auto p = policy(10, 100, 1000);
  EXPECT_EQ(backoff_ceiling(p, 1), milliseconds{100});
  EXPECT_EQ(backoff_ceiling(p, 2), milliseconds{200});
  EXPECT_EQ(backoff_ceiling(p, 3), milliseconds{400});
  EXPECT_EQ(backoff_ceiling(p, 4), milliseconds{800});
  EXPECT_EQ(backoff_ceiling(p, 5), milliseconds{1000});
  EXPECT_EQ(backoff_ceiling(p, 1000000), milliseconds{1000}); // no overflow
}

TEST(backoff, full_jitter_spans_zero_to_the_ceiling_and_never_beyond) {
  auto p = policy(10, 100, 1000);
  EXPECT_EQ(full_jitter(p, 3, 0), milliseconds{0});
  EXPECT_EQ(full_jitter(p, 3, 400), milliseconds{400});
  EXPECT_EQ(full_jitter(p, 3, 401), milliseconds{0});
  EXPECT_LE(full_jitter(p, 3, std::numeric_limits<std::uint64_t>::max()),
            milliseconds{400});
  std::mt19937_64 rng{42};
  milliseconds lo{1000000}, hi{0};
  for (int i = 0; i < 10000; ++i) {
    auto w = full_jitter(p, 2, rng());
    ASSERT_GE(w, milliseconds{0});
    ASSERT_LE(w, milliseconds{200});
    lo = std::min(lo, w);
    hi = std::max(hi, w);
  }
  // Full jitter uses the whole range (not base + jitter): both ends are reached.
  EXPECT_LE(lo, milliseconds{2});
  EXPECT_GE(hi, milliseconds{198});
}

TEST(retry_steps, attempts_in_place_then_retry_topics_in_order_then_the_dlq) {
  auto p = policy(3, 100, 1000);
  p.retry_topics = {milliseconds{5000}, milliseconds{60000}};
  auto w = milliseconds{50};
  EXPECT_EQ(after_failure(p, 0, 1, milliseconds{0}, w, false).what, kind::retry_in_place);
  EXPECT_EQ(after_failure(p, 0, 1, milliseconds{0}, w, false).delay, w);
  EXPECT_EQ(after_failure(p, 0, 2, milliseconds{0}, w, false).what, kind::retry_in_place);
  auto s = after_failure(p, 0, 3, milliseconds{0}, w, false);
  EXPECT_EQ(s.what, kind::retry_topic);
  EXPECT_EQ(s.level, 1);
  EXPECT_EQ(s.delay, milliseconds{5000});
  s = after_failure(p, 1, 3, milliseconds{0}, w, false);
  EXPECT_EQ(s.what, kind::retry_topic);
  EXPECT_EQ(s.level, 2);
  EXPECT_EQ(s.delay, milliseconds{60000});
  EXPECT_EQ(after_failure(p, 2, 3, milliseconds{0}, w, false).what, kind::dead_letter);
}

TEST(retry_steps, a_wait_past_the_in_place_bound_moves_the_record_on_at_once) {
  auto p = policy(5, 100, 1000);
  p.max_in_place = milliseconds{1500};
  p.retry_topics = {milliseconds{5000}};
  EXPECT_EQ(after_failure(p, 0, 2, milliseconds{1000}, milliseconds{500}, false).what,
            kind::retry_in_place);
  EXPECT_EQ(after_failure(p, 0, 2, milliseconds{1000}, milliseconds{501}, false).what,
            kind::retry_topic);
  p.retry_topics.clear();
  EXPECT_EQ(after_failure(p, 0, 2, milliseconds{1000}, milliseconds{501}, false).what,
            kind::dead_letter);
}

TEST(retry_steps, permanent_failures_skip_retries_and_without_dlq_are_given_up) {
  auto p = policy(3, 100, 1000);
  p.retry_topics = {milliseconds{5000}};
  EXPECT_EQ(after_failure(p, 0, 1, milliseconds{0}, milliseconds{0}, true).what,
            kind::dead_letter);
  p.dlq = false;
  EXPECT_EQ(after_failure(p, 0, 1, milliseconds{0}, milliseconds{0}, true).what,
            kind::give_up);
  EXPECT_EQ(after_failure(p, 1, 3, milliseconds{0}, milliseconds{0}, false).what,
            kind::give_up);
  auto one = policy(1, 100, 1000);
  EXPECT_EQ(after_failure(one, 0, 1, milliseconds{0}, milliseconds{0}, false).what,
            kind::dead_letter); // attempts = 1: no retry in place
}

TEST(retry_names, retry_and_dlq_topics_and_their_parse) {
  EXPECT_EQ(retry_topic("orders", 2), "orders.retry.2");
  EXPECT_EQ(dlq_topic("orders"), "orders.dlq");
  auto parsed = parse_retry_topic("orders.retry.12");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "orders");
  EXPECT_EQ(parsed->second, 12);
  EXPECT_FALSE(parse_retry_topic("orders"));
  EXPECT_FALSE(parse_retry_topic("orders.retry.0"));
  EXPECT_FALSE(parse_retry_topic("orders.retry.x"));
  EXPECT_FALSE(parse_retry_topic(".retry.1"));
}

TEST(retry_marks, moved_records_keep_their_headers_and_carry_marks_once) {
  failure_marks m;
  m.error_class = "crash";
  m.error_message = "boom";
  m.attempts = 3;
  m.original_topic = "orders";
  m.original_partition = 2;
  m.original_offset = 41;
  m.first_failure_ms = 1700000000000;
  m.node_id = "n1";
  m.due_ms = 1700000005000;
  std::vector<runtime::header_view> original{{"ce_id", "a"}, {"x", std::string_view{}}};
  auto out = with_marks(original, m);
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(out[0].key, "ce_id");
  EXPECT_EQ(out[1].key, "x");
  EXPECT_EQ(out[1].value, "");
  std::vector<runtime::header_view> views;
  for (auto& h : out)
    views.push_back({h.key, h.value});
  auto back = read_marks(views);
  EXPECT_EQ(back.error_class, "crash");
  EXPECT_EQ(back.error_message, "boom");
  EXPECT_EQ(back.attempts, 3);
  EXPECT_EQ(back.original_topic, "orders");
  EXPECT_EQ(back.original_partition, 2);
  EXPECT_EQ(back.original_offset, 41);
  EXPECT_EQ(back.first_failure_ms, 1700000000000);
  EXPECT_EQ(back.node_id, "n1");
  EXPECT_EQ(back.due_ms, 1700000005000);
  // Moving it again replaces the marks instead of stacking them.
  m.attempts = 6;
  m.due_ms = -1;
  auto again = with_marks(views, m);
  EXPECT_EQ(again.size(), 2u + 8u);
  views.clear();
  for (auto& h : again)
    views.push_back({h.key, h.value});
  EXPECT_EQ(read_marks(views).attempts, 6);
  EXPECT_EQ(read_marks(views).due_ms, -1);
}

} // namespace

namespace {

TEST(retry_bounds, in_place_time_must_stay_below_half_the_poll_interval) {
  runtime::retry_policies ps;
  ps.by_topic["orders"].max_in_place = milliseconds{5000};
  EXPECT_TRUE(check_in_place_bounds(ps, {}, "node.toml")); // librdkafka's 300000
  auto r = check_in_place_bounds(ps, {{"max.poll.interval.ms", "10000"}}, "node.toml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), runtime::errc::config_bad_value);
  EXPECT_EQ(r.error().message(),
            "node.toml: [policy.\"orders\"] max_in_place_ms: 5000 must stay below half of "
            "max.poll.interval.ms (at most 4999)");
  EXPECT_EQ(in_place_limit({{"max.poll.interval.ms", "3000"}}), milliseconds{1499});
  EXPECT_EQ(in_place_limit({}), milliseconds{149999});
  ps.by_topic.clear();
  ps.fallback.max_in_place = milliseconds{6000};
  r = check_in_place_bounds(ps, {{"max.poll.interval.ms", "10000"}}, "node.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("[policy.default] max_in_place_ms"),
            std::string::npos);
}

} // namespace
