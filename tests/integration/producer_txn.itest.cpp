// Transactions of the producer actor: commit, abort, and the classified errors. On the
// mock cluster (integration tier) and on the real TLS cluster (system tier); fault
// injection needs the mock, transaction markers and stored transaction offsets the
// real cluster (the mock writes neither).

#include "producer_fixture.hpp"

using namespace phoenix;
using namespace std::chrono_literals;

namespace {

using namespace phoenix::itest;

class producer_txn_test : public producer_actor_test {
protected:
  // Unique per test: on the real cluster a transactional id outlives the test.
  std::string txn_id;
  std::string input_topic;
  std::string txn_group;

  void SetUp() override {
    producer_actor_test::SetUp();
    txn_id = unique_name("txn-1");
    input_topic = unique_name("orders.in");
    txn_group = unique_name("txn-group");
  }

  kafka::producer_config txn_config() {
    auto cfg = config();
    cfg.transactional_id = txn_id;
    return cfg;
  }
};

TEST_F(producer_txn_test, committed_transaction_is_read_by_a_read_committed_consumer) {
  create_topic(input_topic, 1);
  start(txn_config());
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  for (int i = 0; i < 3; ++i) {
    auto r = produce_one(record("k" + std::to_string(i), "v" + std::to_string(i), 0));
    ASSERT_TRUE(r.has_value()) << r.error().describe();
  }
  std::vector<kafka::partition_offset> offsets{{input_topic, 0, 42}};
  auto sent = ask(kafka::send_offsets_atom::value, offsets, metadata_of_group(txn_group));
  ASSERT_FALSE(sent) << runtime::describe(sent);
  auto committed = ask(kafka::commit_txn_atom::value);
  ASSERT_FALSE(committed) << runtime::describe(committed);

  auto records = read_all(topic, 3, "read_committed");
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(records[static_cast<std::size_t>(i)].value, "v" + std::to_string(i));
  // librdkafka's mock group coordinator answers TxnOffsetCommit without storing the
  // offsets, so there that the offsets travel with the transaction is shown by
  // abortable_error_is_typed_... failing that very request. A real broker stores them.
  if (real()) {
    auto rk = client(RD_KAFKA_CONSUMER, {{"group.id", txn_group}});
    rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(1)};
    rd_kafka_topic_partition_list_add(list.get(), input_topic.c_str(), 0);
    ASSERT_EQ(rd_kafka_committed(rk.get(), list.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(list->elems[0].offset, 42) << "the transaction's offsets were not stored";
    rd_kafka_consumer_close(rk.get());
  }
}

// What the mock cannot show: records of an aborted transaction that reached the log stay
// there, hidden from read_committed consumers by the abort marker.
TEST_F(producer_txn_test, aborted_records_in_the_log_are_hidden_from_read_committed) {
  PHOENIX_REAL_ONLY();
  start(txn_config());
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  for (int p = 0; p < 3; ++p) {
    auto r = produce_one(record("k", "aborted-" + std::to_string(p), p));
    ASSERT_TRUE(r.has_value()) << r.error().describe(); // delivered: in the log
  }
  ASSERT_OK(ask(kafka::abort_txn_atom::value));
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  auto kept = produce_one(record("k", "committed", 1));
  ASSERT_TRUE(kept.has_value()) << kept.error().describe();
  ASSERT_OK(ask(kafka::commit_txn_atom::value));

  auto committed = read_all(topic, 3, "read_committed");
  ASSERT_EQ(committed.size(), 1u);
  EXPECT_EQ(committed[0].value, "committed");
  auto everything = read_all(topic, 3, "read_uncommitted");
  EXPECT_EQ(everything.size(), 4u) << "the aborted records did not reach the log";
}

// The mock cluster writes no transaction markers, so a record that reached its log
// reads as committed even after an abort. What an abort must guarantee is tested where
// the mock can show it: records still queued are dropped, never written, and their
// requesters are told so.
TEST_F(producer_txn_test, abort_drops_the_records_of_the_transaction) {
  auto cfg = txn_config();
  // Records stay queued until the commit or abort. librdkafka wants linger.ms below
  // message.timeout.ms, and that at most transaction.timeout.ms (60 s).
  cfg.properties["linger.ms"] = "50000";
  cfg.properties["message.timeout.ms"] = "55000";
  start(cfg);
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  caf::scoped_actor self{*sys};
  std::vector<caf::error> answers(3);
  std::vector<decltype(self->request(producer, answer_bound, kafka::produce_atom::value,
                                     kafka::outgoing_record{}))>
      pending;
  for (int i = 0; i < 3; ++i)
    pending.push_back(self->request(producer, answer_bound, kafka::produce_atom::value,
                                    record("k", "aborted-" + std::to_string(i), i)));
  auto aborted = ask(kafka::abort_txn_atom::value);
  ASSERT_FALSE(aborted) << runtime::describe(aborted);
  for (auto& h : pending)
    h.receive(
        [](kafka::delivery_report&) { ADD_FAILURE() << "aborted record delivered"; },
        [this](caf::error& err) {
          auto text = runtime::describe(err);
          EXPECT_TRUE(contains(text, "delivery to " + topic + " failed: Local: Purged"))
              << text;
        });
  for (int p = 0; p < 3; ++p)
    EXPECT_EQ(end_offset(topic, p), 0) << "partition " << p;

  // The producer goes on with a new transaction.
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  auto kept = self->request(producer, answer_bound, kafka::produce_atom::value,
                            record("k", "committed", 1));
  auto committed = ask(kafka::commit_txn_atom::value);
  ASSERT_FALSE(committed) << runtime::describe(committed);
  kept.receive([](kafka::delivery_report& r) { EXPECT_EQ(r.partition, 1); },
               [](caf::error& err) { ADD_FAILURE() << runtime::describe(err); });
  auto records = read_all(topic, 3, "read_committed");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "committed");
}

TEST_F(producer_txn_test, abortable_error_is_typed_and_the_producer_recovers_by_aborting) {
  PHOENIX_MOCK_ONLY();
  create_topic(input_topic, 1);
  start(txn_config());
  ASSERT_TRUE(mock()->push_request_errors(
      28, {RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED})); // TxnOffsetCommit
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  auto r = produce_one(record("k", "lost", 0));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  std::vector<kafka::partition_offset> offsets{{input_topic, 0, 7}};
  auto err = ask(kafka::send_offsets_atom::value, offsets, metadata_of_group(txn_group));
  EXPECT_EQ(kafka::txn_error_code(err), kafka::txn_errc::abortable)
      << runtime::describe(err);
  auto commit = ask(kafka::commit_txn_atom::value);
  EXPECT_EQ(kafka::txn_error_code(commit), kafka::txn_errc::abortable)
      << runtime::describe(commit);

  ASSERT_OK(ask(kafka::abort_txn_atom::value));
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  auto again = produce_one(record("k", "kept", 0));
  ASSERT_TRUE(again.has_value()) << again.error().describe();
  auto committed = ask(kafka::commit_txn_atom::value);
  EXPECT_FALSE(committed) << runtime::describe(committed);
}

TEST_F(producer_txn_test, fenced_producer_answers_fatal_and_stops_with_an_error) {
  PHOENIX_MOCK_ONLY();
  spawn(txn_config());
  ASSERT_TRUE(
      mock()->push_request_errors(26, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED})); // EndTxn
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  auto r = produce_one(record("k", "v", 0));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  caf::error commit;
  auto reason = await_down(producer, [&] { commit = ask(kafka::commit_txn_atom::value); });
  producer = nullptr;
  EXPECT_EQ(kafka::txn_error_code(commit), kafka::txn_errc::fatal)
      << runtime::describe(commit);
  EXPECT_FALSE(runtime::is_normal_exit(reason));
  auto text = runtime::describe(reason);
  EXPECT_TRUE(contains(text, "producer failed")) << text;
}

TEST_F(producer_txn_test, produce_outside_a_transaction_is_refused) {
  start(txn_config());
  auto r = produce_one(record("k", "v", 0));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), runtime::errc::kafka_error);
  EXPECT_TRUE(contains(r.error().message(), "produce to " + topic)) << r.error().message();
}

TEST_F(producer_txn_test, transaction_calls_on_a_plain_producer_are_refused) {
  start(config());
  auto err = ask(kafka::begin_txn_atom::value);
  EXPECT_EQ(kafka::txn_error_code(err), kafka::txn_errc::refused) << runtime::describe(err);
}

TEST_F(producer_txn_test, bad_transactional_setup_fails_the_start) {
  PHOENIX_MOCK_ONLY();
  ASSERT_TRUE(mock()->push_request_errors(
      22, {RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED}));
  runtime::supervisor_spec spec;
  spec.name = "kafka";
  spec.children.push_back(kafka::producer_child("producer", txn_config()));
  auto r = runtime::start_supervisor(*sys, std::move(spec));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(
      contains(r.error().message(), "test: initialising transactions of '" + txn_id))
      << r.error().message();
}

} // namespace
