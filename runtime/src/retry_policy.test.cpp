#include "phoenix/runtime/config.hpp"

#include <gtest/gtest.h>

using namespace phoenix::runtime;
using std::chrono::milliseconds;

namespace {

// The error of a config holding `text`, which must be refused.
std::string refused(const std::string& text, errc code = errc::config_bad_value) {
  auto r = parse_config(text, "node.toml");
  EXPECT_FALSE(r.has_value()) << "accepted: " << text;
  if (r)
    return {};
  EXPECT_EQ(r.error().code(), code) << r.error().message();
  return r.error().message();
}

TEST(retry_policy, defaults_apply_to_every_topic_without_a_policy_section) {
  auto r = parse_config("", "node.toml");
  ASSERT_TRUE(r.has_value());
  const auto& p = r->policy.of("orders");
  EXPECT_EQ(p.attempts, 3);
  EXPECT_TRUE(p.retry_topics.empty());
  EXPECT_TRUE(p.dlq);
}

TEST(retry_policy, topic_tables_start_from_the_default_table) {
  auto r = parse_config(R"(
[policy.default]
attempts = 5
backoff_base_ms = 20
dlq = false
[policy."orders"]
backoff_cap_ms = 400
retry_topics_ms = [5000, 60000]
dlq = true
)",
                        "node.toml");
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  const auto& orders = r->policy.of("orders");
  EXPECT_EQ(orders.attempts, 5);
  EXPECT_EQ(orders.backoff_base, milliseconds{20});
  EXPECT_EQ(orders.backoff_cap, milliseconds{400});
  EXPECT_EQ(orders.retry_topics,
            (std::vector<milliseconds>{milliseconds{5000}, milliseconds{60000}}));
  EXPECT_TRUE(orders.dlq);
  const auto& other = r->policy.of("payments");
  EXPECT_EQ(other.attempts, 5);
  EXPECT_FALSE(other.dlq);
  EXPECT_TRUE(other.retry_topics.empty());
}

TEST(retry_policy, each_bad_value_names_file_table_and_key) {
  EXPECT_EQ(refused("[policy.default]\nattempts = 0\n"),
            "node.toml: [policy.default] attempts: expected 1 to 100, got 0");
  EXPECT_EQ(refused("[policy.\"orders\"]\nattempts = 101\n"),
            "node.toml: [policy.\"orders\"] attempts: expected 1 to 100, got 101");
  EXPECT_NE(refused("[policy.default]\nbackoff_base_ms = 0\n")
                .find("node.toml: [policy.default] backoff_base_ms: expected 1 to"),
            std::string::npos);
  EXPECT_EQ(refused("[policy.\"orders\"]\nbackoff_base_ms = 500\nbackoff_cap_ms = 100\n"),
            "node.toml: [policy.\"orders\"] backoff_cap_ms: expected backoff_base_ms "
            "(500) to 604800000 milliseconds, got 100");
  EXPECT_EQ(refused("[policy.\"orders\"]\nbackoff_cap_ms = 40000\n"),
            "node.toml: [policy.\"orders\"] max_in_place_ms: expected backoff_cap_ms "
            "(40000) to 604800000 milliseconds, got 4000");
  EXPECT_EQ(refused("[policy.\"orders\"]\nretry_topics_ms = [1000, -5]\n"),
            "node.toml: [policy.\"orders\"] retry_topics_ms: expected delays of 1 to "
            "604800000 milliseconds, got -1");
  EXPECT_EQ(refused("[policy.\"orders\"]\nretry_topics_ms = [1,2,3,4,5,6,7,8,9,10,11]\n"),
            "node.toml: [policy.\"orders\"] retry_topics_ms: expected at most 10 retry "
            "topics, got 11");
  EXPECT_EQ(refused("[policy.\"bad topic\"]\n", errc::config_bad_value),
            "node.toml: [policy.\"bad topic\"]: \"bad topic\" is no valid topic name: "
            "only ASCII letters, digits, '.', '_' and '-' are allowed (line 1)");
}

TEST(retry_policy, wrong_types_and_unknown_keys_are_refused_with_their_line) {
  EXPECT_EQ(refused("[policy.default]\nattempts = \"3\"\n", errc::config_wrong_type),
            "node.toml: [policy.default] attempts: expected an integer (line 2)");
  EXPECT_EQ(refused("[policy.default]\ndlq = 1\n", errc::config_wrong_type),
            "node.toml: [policy.default] dlq: expected a boolean (line 2)");
  EXPECT_EQ(refused("[policy.default]\nretry_topics_ms = 5000\n", errc::config_wrong_type),
            "node.toml: [policy.default] retry_topics_ms: expected an array of delays in "
            "milliseconds (line 2)");
  EXPECT_EQ(refused("[policy.\"orders\"]\nattempt = 3\n", errc::config_unknown_key),
            "node.toml: [policy.\"orders\"] attempt: unknown key (line 2)");
  EXPECT_EQ(refused("[policy]\nattempts = 3\n", errc::config_wrong_type),
            "node.toml: [policy] attempts: expected a table [policy.default] or "
            "[policy.\"<topic>\"], or one of create_topics, topic_partitions, "
            "topic_replication_factor (line 2)");
}

TEST(retry_policy, topic_creation_is_on_by_default_with_the_brokers_replication) {
  auto r = parse_config("", "node.toml");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->policy.topics.create);
  EXPECT_EQ(r->policy.topics.partitions, 0);
  EXPECT_EQ(r->policy.topics.replication_factor, -1);
  auto set = parse_config("[policy]\ncreate_topics = false\ntopic_partitions = 6\n"
                          "topic_replication_factor = 3\n[policy.default]\nattempts = 2\n",
                          "node.toml");
  ASSERT_TRUE(set.has_value()) << set.error().describe();
  EXPECT_FALSE(set->policy.topics.create);
  EXPECT_EQ(set->policy.topics.partitions, 6);
  EXPECT_EQ(set->policy.topics.replication_factor, 3);
  EXPECT_EQ(set->policy.fallback.attempts, 2);
}

TEST(retry_policy, bad_topic_creation_settings_name_the_key_and_line) {
  EXPECT_EQ(refused("[policy]\ncreate_topics = \"yes\"\n", errc::config_wrong_type),
            "node.toml: [policy] create_topics: expected a boolean (line 2)");
  EXPECT_EQ(refused("[policy]\ntopic_partitions = -1\n"),
            "node.toml: [policy] topic_partitions: expected 0 (as the source topic) to "
            "100000 partitions, got -1 (line 2)");
  EXPECT_EQ(refused("[policy]\ntopic_replication_factor = 0\n"),
            "node.toml: [policy] topic_replication_factor: expected -1 (the brokers' "
            "default) or 1 to 32767, got 0 (line 2)");
  EXPECT_EQ(refused("[policy]\ntopic_replication_factor = 3.0\n", errc::config_wrong_type),
            "node.toml: [policy] topic_replication_factor: expected an integer (line 2)");
}

} // namespace
