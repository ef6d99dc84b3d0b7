// The producer actor: delivery reports reach the requester, failures arrive as typed
// errors, and a stop answers every requester. Runs on the mock cluster (integration
// tier) and on the real TLS cluster (system tier); the scenarios that inject faults
// need the mock.

#include "phoenix/persistence/trace_log.hpp"
#include "producer_fixture.hpp"

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

TEST_F(producer_actor_test,
       delivery_report_reaches_the_requester_and_the_record_reads_back) {
  start(config());
  std::string value;
  for (int b = 0; b < 256; ++b)
    value.push_back(static_cast<char>(b));
  auto first = record(std::string("k\0ey", 4), value, 1);
  first.headers = {{"h1", std::string("v\0x", 3)}, {"h1", "second"}, {"empty", ""}};
  auto a = produce_one(first);
  ASSERT_TRUE(a.has_value()) << a.error().describe();
  EXPECT_EQ(a->topic, topic);
  EXPECT_EQ(a->partition, 1);
  EXPECT_EQ(a->offset, 0); // the partition's first record
  auto b = produce_one(record("other", "plain"));
  ASSERT_TRUE(b.has_value()) << b.error().describe();
  EXPECT_EQ(b->topic, topic);

  auto records = read_all(topic, 3);
  ASSERT_EQ(records.size(), 2u);
  for (auto& r : records) {
    if (r.partition == a->partition && r.offset == a->offset) {
      EXPECT_EQ(r.key, first.key);
      EXPECT_EQ(r.value, first.value);
      rd::header_list expected{
          {"h1", std::string("v\0x", 3)}, {"h1", "second"}, {"empty", ""}};
      EXPECT_EQ(r.headers, expected);
    } else {
      EXPECT_EQ(r.partition, b->partition);
      EXPECT_EQ(r.offset, b->offset);
      EXPECT_EQ(r.key, "other");
      EXPECT_EQ(r.value, "plain");
      EXPECT_TRUE(r.headers.empty());
    }
  }
}

TEST_F(producer_actor_test, delivery_failure_reaches_the_requester_as_a_kafka_error) {
  PHOENIX_MOCK_ONLY();
  ASSERT_TRUE(mock()->set_partition_leader(topic, 0, 1));
  auto cfg = config();
  cfg.properties["message.timeout.ms"] = "1000";
  // Reconnects soon after broker_up(), well within a message's timeout.
  cfg.properties["reconnect.backoff.ms"] = "10";
  cfg.properties["reconnect.backoff.max.ms"] = "100";
  start(cfg);
  ASSERT_TRUE(mock()->broker_down(1));

  auto err = produce_error(record("k", "lost", 0));
  ASSERT_TRUE(err);
  EXPECT_EQ(err.category(), runtime::phoenix_error_category);
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(runtime::errc::kafka_error));
  auto text = runtime::describe(err);
  EXPECT_TRUE(contains(text, "delivery to " + topic + " failed: Local: Message timed out"))
      << text;

  ASSERT_TRUE(mock()->broker_up(1));
  auto ok = produce_one(record("k", "kept", 0));
  ASSERT_TRUE(ok.has_value()) << ok.error().describe();
  EXPECT_EQ(ok->partition, 0);
  auto records = read_all(topic, 3);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "kept");
}

// Only an idempotent producer asks the cluster for a producer id (InitProducerId, API
// 22); failing that request with an authorization error is fatal to it.
TEST_F(producer_actor_test, idempotence_is_on_by_default) {
  PHOENIX_MOCK_ONLY();
  ASSERT_TRUE(
      mock()->push_request_errors(22, {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED}));
  spawn(config());
  auto reason = await_down(producer, [&] {
    auto r = produce_one(record("k", "v", 0));
    EXPECT_FALSE(r.has_value());
  });
  auto text = runtime::describe(reason);
  EXPECT_TRUE(contains(text, "producer failed")) << text;
  EXPECT_TRUE(contains(text, "authoriz")) << text;
  producer = nullptr;
  EXPECT_EQ(end_offset(topic, 0), 0);
}

TEST_F(producer_actor_test, idempotence_is_off_only_when_configured) {
  PHOENIX_MOCK_ONLY();
  ASSERT_TRUE(
      mock()->push_request_errors(22, {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED}));
  auto cfg = config();
  cfg.properties["enable.idempotence"] = "false";
  start(cfg);
  auto r = produce_one(record("k", "v", 0));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->offset, 0);
}

// The mock stores nothing for a Produce request it fails, so this shows retries, not
// deduplication (see idempotence_is_on_by_default).
TEST_F(producer_actor_test, retriable_produce_errors_are_retried_and_stored_once) {
  PHOENIX_MOCK_ONLY();
  start(config());
  ASSERT_TRUE(mock()->push_request_errors(0, {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                              RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                              RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT}));
  auto r = produce_one(record("k", "once", 2));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  EXPECT_EQ(r->offset, 0);
  auto records = read_all(topic, 3);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "once");
  EXPECT_EQ(end_offset(topic, 2), 1);
}

// The first record to a topic makes the producer ask for that topic's metadata at once
// (instead of librdkafka's once-a-second topic scan); the records held for it meanwhile
// still reach the partitions they were meant for, and the topic they were sent to.
TEST_F(producer_actor_test, first_records_to_topics_new_to_the_producer_are_delivered) {
  start(config());
  std::vector<std::string> topics{unique_name("fresh-a"), unique_name("fresh-b"),
                                  unique_name("fresh-c")};
  for (const auto& t : topics)
    create_topic(t, 3);
  std::vector<kafka::outgoing_record> records;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    auto pick = record("k" + std::to_string(i), "chosen", 2); // an explicit partition
    pick.topic = topics[i];
    auto any = record("k" + std::to_string(i), "partitioned"); // the partitioner's
    any.topic = topics[i];
    records.push_back(std::move(pick));
    records.push_back(std::move(any));
  }
  auto out = request_all(std::move(records));
  ASSERT_TRUE(eventually([&] { return out->count() == 2 * topics.size(); }));
  {
    std::lock_guard<std::mutex> g{out->mtx};
    for (auto& f : out->failed)
      ADD_FAILURE() << f;
    for (auto& d : out->delivered)
      EXPECT_NE(std::find(topics.begin(), topics.end(), d.topic), topics.end()) << d.topic;
  }
  for (const auto& t : topics) {
    auto stored = read_all(t, 3);
    ASSERT_EQ(stored.size(), 2u) << t;
    auto chosen = std::count_if(stored.begin(), stored.end(), [](const read_record& r) {
      return r.value == "chosen" && r.partition == 2;
    });
    EXPECT_EQ(chosen, 1) << t;
  }
}

TEST_F(producer_actor_test, records_beyond_librdkafkas_queue_wait_in_request_order) {
  auto cfg = config();
  cfg.properties["queue.buffering.max.messages"] = "1";
  start(cfg);
  std::vector<kafka::outgoing_record> records;
  for (int i = 0; i < 50; ++i)
    records.push_back(record("k", "v" + std::to_string(i), 0));
  auto out = request_all(std::move(records));
  ASSERT_TRUE(eventually([&] { return out->count() == 50; }));
  {
    std::lock_guard<std::mutex> g{out->mtx};
    for (auto& f : out->failed)
      ADD_FAILURE() << f;
  }
  auto stored = read_all(topic, 3);
  ASSERT_EQ(stored.size(), 50u);
  std::sort(stored.begin(), stored.end(),
            [](const read_record& a, const read_record& b) { return a.offset < b.offset; });
  for (std::size_t i = 0; i < stored.size(); ++i)
    EXPECT_EQ(stored[i].value, "v" + std::to_string(i));
}

TEST_F(producer_actor_test, stop_answers_every_requester_and_delivered_records_are_stored) {
  start(config());
  const std::size_t n = 2000;
  std::vector<kafka::outgoing_record> records;
  for (std::size_t i = 0; i < n; ++i)
    records.push_back(record("key-" + std::to_string(i), "value-" + std::to_string(i)));
  auto out = request_all(std::move(records));
  // The requests are in the producer's mailbox before the supervisor's exit request.
  EXPECT_TRUE(runtime::is_normal_exit(stop_supervisor()));
  ASSERT_TRUE(eventually([&] { return out->count() == n; }))
      << out->count() << " of " << n << " requesters answered";

  std::lock_guard<std::mutex> g{out->mtx};
  ASSERT_FALSE(out->delivered.empty());
  for (auto& f : out->failed)
    ADD_FAILURE() << "unexpected failure: " << f;
  std::set<std::pair<std::int32_t, std::int64_t>> reported;
  for (auto& d : out->delivered)
    reported.insert({d.partition, d.offset});
  EXPECT_EQ(reported.size(), out->delivered.size()) << "a position reported twice";
  std::set<std::pair<std::int32_t, std::int64_t>> stored;
  for (auto& r : read_all(topic, 3))
    stored.insert({r.partition, r.offset});
  EXPECT_EQ(stored, reported);
}

TEST_F(producer_actor_test, stop_answers_records_not_delivered_within_the_bound) {
  PHOENIX_MOCK_ONLY();
  ASSERT_TRUE(mock()->set_partition_leader(topic, 0, 1));
  auto cfg = config();
  cfg.properties["message.timeout.ms"] = "300000";
  cfg.flush_timeout = 500ms;
  start(cfg);
  ASSERT_TRUE(mock()->broker_down(1));
  std::vector<kafka::outgoing_record> records;
  for (int i = 0; i < 10; ++i)
    records.push_back(record("k", "v" + std::to_string(i), 0));
  auto out = request_all(std::move(records));
  EXPECT_TRUE(runtime::is_normal_exit(stop_supervisor()));
  ASSERT_TRUE(eventually([&] { return out->count() == 10; }));
  std::lock_guard<std::mutex> g{out->mtx};
  EXPECT_TRUE(out->delivered.empty());
  for (auto& f : out->failed)
    EXPECT_TRUE(
        contains(f, "delivery to " + topic + " failed: not delivered before shutdown"))
        << f;
}

TEST_F(producer_actor_test, killed_producer_still_answers_its_requesters) {
  PHOENIX_MOCK_ONLY();
  ASSERT_TRUE(mock()->set_partition_leader(topic, 0, 1));
  auto cfg = config();
  cfg.properties["message.timeout.ms"] = "300000";
  spawn(cfg);
  ASSERT_TRUE(mock()->broker_down(1));
  std::vector<kafka::outgoing_record> records;
  for (int i = 0; i < 5; ++i)
    records.push_back(record("k", "v" + std::to_string(i), 0));
  auto out = request_all(std::move(records));
  await_down(producer, [&] { caf::anon_send_exit(producer, caf::exit_reason::kill); });
  producer = nullptr;
  ASSERT_TRUE(eventually([&] { return out->count() == 5; }));
  std::lock_guard<std::mutex> g{out->mtx};
  EXPECT_TRUE(out->delivered.empty());
  for (auto& f : out->failed)
    EXPECT_TRUE(contains(f, "delivery to " + topic + " failed: producer stopped")) << f;
}

TEST_F(producer_actor_test, bad_config_fails_the_start_naming_the_key) {
  auto cfg = config();
  cfg.properties["acks"] = "sometimes";
  runtime::supervisor_spec spec;
  spec.name = "kafka";
  spec.children.push_back(kafka::producer_child("producer", cfg));
  auto r = runtime::start_supervisor(*sys, std::move(spec));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message(), "test: [kafka] acks:")) << r.error().message();
}

} // namespace

// Traceability: a record made while a message is being handled (a cause scope) is
// written into that message's journey once delivered, with its position and ce_id;
// records made outside any scope, or by a producer without a trace log, write nothing.
TEST_F(producer_actor_test, delivered_records_with_a_cause_join_its_journey) {
  auto trace = std::make_shared<persistence::trace_log>("node-3");
  auto cfg = config();
  cfg.trace = trace;
  start(cfg);
  kafka::outgoing_record caused = [&] {
    const runtime::cause_scope cause{"lead-17"};
    auto r = record("k", "v", 2);
    r.headers = {{"ce_id", "reply-17"}};
    return r;
  }();
  EXPECT_EQ(caused.cause, "lead-17");
  auto a = produce_one(caused);
  ASSERT_TRUE(a.has_value()) << a.error().describe();
  auto b = produce_one(record("k", "no cause", 2));
  ASSERT_TRUE(b.has_value()) << b.error().describe();
  ASSERT_TRUE(eventually([&] { return trace->pending() > 0; }));
  EXPECT_TRUE(runtime::is_normal_exit(stop_supervisor()));
  auto rows = trace->take(10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].key.value, "lead-17");
  EXPECT_EQ(rows[0].stage, "produced");
  EXPECT_EQ(rows[0].topic, topic);
  EXPECT_EQ(rows[0].partition, 2);
  EXPECT_EQ(rows[0].offset, a->offset);
  EXPECT_EQ(rows[0].detail, "ce_id reply-17");
}
