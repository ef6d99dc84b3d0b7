// The retry and DLQ topics a consumer's policies need, on the real cluster (brokers with
// auto.create.topics.enable=false): the consumer creates them when it starts, with its
// source topic's partition count and the brokers' replication factor; a client that may
// not create them says so in its log, its stats and /ready, and the record that needs
// the DLQ stays uncommitted until the topic exists, then reaches it.

#include "consumer_fixture.hpp"
#include "phoenix/actors/kafka/acl.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/actors/policies/retry.hpp"
#include "phoenix/observability/readiness.hpp"
#include "phoenix/runtime/actor_slot.hpp"

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

class policy_topics_test : public group_consumer_test {
protected:
  std::shared_ptr<runtime::actor_slot> producer = std::make_shared<runtime::actor_slot>();

  void SetUp() override {
    group_consumer_test::SetUp();
    if (HasFatalFailure())
      return;
    PHOENIX_REAL_ONLY();
  }

  // The cluster outlives the test: ACLs granted here are taken back, pass or fail.
  // Any Write grant lets `reader` get an idempotent producer id, which the acceptance
  // tier's acl scenario needs it not to have.
  void TearDown() override {
    stop(); // the reader's clients first: revoking under them leaves them stuck
    if (granted) {
      auto admin = kafka::acl_admin::connect(client_properties("admin"), "test");
      EXPECT_TRUE(admin) << admin.error().describe();
      kafka::acl_filter reader;
      reader.principal = "User:reader";
      for (auto* name : {&topic, &group, &dlq}) {
        reader.name = *name;
        auto revoked = admin ? admin->revoke(reader, 30s) : admin.error();
        EXPECT_TRUE(revoked) << *name << ": " << revoked.error().describe();
      }
    }
    group_consumer_test::TearDown();
  }

  bool granted = false;
  std::string dlq;

  // A consumer of `topic` and its producer as `identity`; `lead-0` is rejected (to the
  // DLQ at once), `lead-1` asks for a retry (attempts = 1: to the retry topic, or
  // without one to the DLQ).
  void start_as(const std::string& identity, bool retry_topic) {
    auto props = client_properties(identity);
    auto cfg = config();
    for (auto& [k, v] : props)
      cfg.properties[k] = v;
    cfg.policies.fallback.attempts = 1;
    if (retry_topic)
      cfg.policies.fallback.retry_topics = {200ms};
    cfg.producer = producer;
    kafka::producer_config pcfg;
    pcfg.properties = props;
    pcfg.origin = "test";
    runtime::supervisor_spec spec;
    spec.name = "kafka";
    spec.children.push_back(
        runtime::track(kafka::producer_child("producer", pcfg), producer));
    auto log = seen;
    auto calls = std::make_shared<std::atomic<int>>(0);
    spec.children.push_back(kafka::group_consumer_child(
        "consumer", std::move(cfg), {topic},
        [log, calls](const runtime::envelope_view& env, const kafka::record_view& rec) {
          if (env.id == "lead-0")
            return kafka::handler_status::rejected;
          if (env.id == "lead-1" && rec.topic.find(".retry.") == std::string_view::npos)
            return kafka::handler_status::retry;
          return record_done(*log, env);
        },
        stats));
    auto r = runtime::start_supervisor(*sys, std::move(spec));
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    root = *r;
  }

  testkit::topic_view everywhere(const std::string& name) {
    testkit::topic_view last;
    for (auto& broker : testkit::brokers_of(bootstrap()))
      last = testkit::topic_at(client_properties("admin"), broker, name);
    return last;
  }
};

TEST_F(policy_topics_test, the_consumer_creates_its_retry_and_dlq_topics_like_its_source) {
  produce_events(0, 30); // every partition gets some
  start_as("phoenix-node", true);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(stats->policy_topics.size(), 0u);
  for (auto name : {policies::retry_topic(topic, 1), policies::dlq_topic(topic)}) {
    auto view = everywhere(name);
    EXPECT_EQ(view.error, 0) << name;
    EXPECT_EQ(view.partitions, partitions) << name;
  }
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 29; })); // lead-1 via retry
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 1; }));
  EXPECT_EQ(stats->retry_topic_records.load(), 1u);
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
}

TEST_F(policy_topics_test, a_client_that_may_not_create_them_says_so_and_loses_nothing) {
  // reader may read the topic and its group and write its DLQ, but create nothing.
  auto admin = kafka::acl_admin::connect(client_properties("admin"), "test");
  ASSERT_TRUE(admin) << admin.error().describe();
  dlq = policies::dlq_topic(topic);
  std::vector<kafka::acl_binding> acls;
  for (auto op : {kafka::acl_operation::read, kafka::acl_operation::describe})
    acls.push_back({kafka::acl_resource::topic, topic, kafka::acl_pattern::literal,
                    "User:reader", "*", op, kafka::acl_permission::allow});
  acls.push_back({kafka::acl_resource::group, group, kafka::acl_pattern::literal,
                  "User:reader", "*", kafka::acl_operation::read,
                  kafka::acl_permission::allow});
  for (auto op : {kafka::acl_operation::write, kafka::acl_operation::describe})
    acls.push_back({kafka::acl_resource::topic, dlq, kafka::acl_pattern::literal,
                    "User:reader", "*", op, kafka::acl_permission::allow});
  granted = true;
  ASSERT_TRUE(admin->grant(acls, 30s));
  // Brokers apply ACLs as their copy of the metadata log reaches them.
  for (auto& broker : testkit::brokers_of(bootstrap()))
    ASSERT_TRUE(eventually(
        [&] {
          return testkit::topic_at(client_properties("reader"), broker, topic).led > 0;
        },
        30s));
  produce_events(0, 30);
  start_as("reader", false);
  ASSERT_FALSE(HasFatalFailure());
  auto missing = stats->policy_topics.snapshot();
  ASSERT_EQ(missing.count(dlq), 1u);
  EXPECT_NE(missing[dlq].find("authorization"), std::string::npos) << missing[dlq];
  observability::readiness ready;
  kafka::add_topics_readiness_check(ready, "policy_topics", stats);
  auto report = ready.evaluate();
  EXPECT_FALSE(report.ready);
  ASSERT_EQ(report.checks.size(), 1u);
  EXPECT_NE(report.checks[0].detail.find(dlq), std::string::npos)
      << report.checks[0].detail;

  // lead-0 and lead-1 cannot reach their DLQ: each holds its partition (a lane runs
  // its records in order) and the partition's commit.
  ASSERT_TRUE(eventually([&] { return stats->produce_failures.load() >= 2; }));
  EXPECT_EQ(stats->dead_lettered.load(), 0u);
  EXPECT_LT(seen->done_count(), 28u);
  auto held = committed_and_end();
  // Once the DLQ exists (an operator made it), the record reaches it and is committed.
  create_topic(dlq, partitions);
  ASSERT_TRUE(eventually([&] { return stats->dead_lettered.load() == 2; }));
  ASSERT_TRUE(eventually([&] { return seen->done_count() == 28; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop()));
  expect_all_committed();
  bool lead0_partition_held = false;
  for (auto& [p, offsets] : held)
    lead0_partition_held = lead0_partition_held || offsets.first < offsets.second;
  EXPECT_TRUE(lead0_partition_held) << "a partition committed past the record";
  EXPECT_EQ(
      testkit::consume_from(client_properties(), dlq, unique_name("dlq-reader"), 2, 30s)
          .size(),
      2u);
}

} // namespace
