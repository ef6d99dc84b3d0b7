// The producer actor on librdkafka's mock cluster: delivery reports reach the requester,
// failures arrive as typed errors, a stop answers every requester, and transactions
// commit, abort and classify their errors.

#include "phoenix/actors/kafka/producer_actor.hpp"

#include "kafka/group_metadata.hpp"
#include "kafka/rdkafka.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>
#include <mutex>
#include <set>
#include <thread>

using namespace phoenix;
using namespace std::chrono_literals;
namespace rd = phoenix::kafka::rd;

namespace {

// Bounds that only keep a broken build from hanging; no test measures time.
constexpr auto answer_bound = 60s;

// A record as read back by the tests' own reader.
struct read_record {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;
  rd::header_list headers;
};

// Answers to many requests made at once, collected from a requester actor.
struct answers {
  std::mutex mtx;
  std::vector<kafka::delivery_report> delivered;
  std::vector<std::string> failed; // runtime::describe() of each error
  std::atomic<bool> all_sent{false};

  std::size_t count() {
    std::lock_guard<std::mutex> g{mtx};
    return delivered.size() + failed.size();
  }
};

// Sends every record as its own request, then records each answer.
caf::behavior requester(caf::event_based_actor* self, caf::actor producer,
                        std::vector<kafka::outgoing_record> records,
                        std::shared_ptr<answers> out) {
  for (auto& rec : records)
    self->request(producer, std::chrono::minutes{10}, kafka::produce_atom::value,
                  std::move(rec))
        .then(
            [out](kafka::delivery_report& report) {
              std::lock_guard<std::mutex> g{out->mtx};
              out->delivered.push_back(std::move(report));
            },
            [out](caf::error& err) {
              std::lock_guard<std::mutex> g{out->mtx};
              out->failed.push_back(runtime::describe(err));
            });
  out->all_sent = true;
  return {[](caf::atom_constant<caf::atom("rq_never")>) {}};
}

kafka::outgoing_record record(std::string key, std::string value,
                              std::optional<std::int32_t> partition = std::nullopt) {
  kafka::outgoing_record r;
  r.topic = "orders";
  r.key = std::move(key);
  r.value = std::move(value);
  r.partition = partition;
  return r;
}

// A request answered without an error.
#define ASSERT_OK(answer)                                                                  \
  do {                                                                                     \
    auto answer_ = (answer);                                                               \
    ASSERT_FALSE(answer_) << runtime::describe(answer_);                                   \
  } while (false)

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class producer_actor_test : public testkit::mock_cluster_fixture {
protected:
  const std::string topic = "orders";
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor root;     // the supervisor, when started through one
  caf::actor producer; // the producer actor's current incarnation

  void SetUp() override {
    mock_cluster_fixture::SetUp();
    create_topic(topic, 3);
    sys = std::make_unique<caf::actor_system>(sys_cfg);
  }

  void TearDown() override {
    for (auto& c : clients_)
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    clients_.clear();
    stop_supervisor();
    if (producer)
      caf::anon_send_exit(producer, caf::exit_reason::kill);
    producer = nullptr;
    sys.reset();
    mock_cluster_fixture::TearDown();
  }

  kafka::producer_config config() {
    kafka::producer_config cfg;
    cfg.properties = {{"bootstrap.servers", bootstrap()}, {"linger.ms", "5"}};
    cfg.origin = "test";
    return cfg;
  }

  // Starts the producer under a supervisor, remembering the handle its start returns.
  void start(kafka::producer_config cfg) {
    auto child = kafka::producer_child("producer", std::move(cfg));
    auto inner = std::move(child.start);
    child.start = [this, inner](caf::actor_system& s) -> result<caf::actor> {
      auto started = inner(s);
      if (started)
        producer = *started;
      return started;
    };
    runtime::supervisor_spec spec;
    spec.name = "kafka";
    spec.children.push_back(std::move(child));
    auto r = runtime::start_supervisor(*sys, std::move(spec));
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    root = *r;
  }

  // Starts the producer without a supervisor, to watch it exit.
  void spawn(kafka::producer_config cfg) {
    auto started = kafka::producer_child("producer", std::move(cfg)).start(*sys);
    ASSERT_TRUE(started.has_value()) << started.error().describe();
    producer = *started;
  }

  // Ordered stop through the supervisor; returns its exit reason.
  caf::error stop_supervisor() {
    if (!root)
      return {};
    auto reason = await_down(
        root, [&] { caf::anon_send_exit(root, caf::exit_reason::user_shutdown); });
    root = nullptr;
    return reason;
  }

  template <class Trigger>
  caf::error await_down(const caf::actor& who, Trigger trigger) {
    caf::scoped_actor self{*sys};
    self->monitor(who);
    trigger();
    caf::error reason;
    self->receive([&](caf::down_msg& m) { reason = m.reason; },
                  caf::after(answer_bound) >> [&] { ADD_FAILURE() << "no exit"; });
    return reason;
  }

  // The raw answer to a transaction request: the error, or none for ok.
  template <class... Ts>
  caf::error ask(Ts&&... xs) {
    caf::scoped_actor self{*sys};
    caf::error out;
    self->request(producer, answer_bound, std::forward<Ts>(xs)...)
        .receive([] {}, [&](caf::error& e) { out = e; });
    return out;
  }

  // The raw error answering a produce request, or none for a delivery report.
  caf::error produce_error(kafka::outgoing_record rec) {
    caf::scoped_actor self{*sys};
    caf::error out;
    self->request(producer, answer_bound, kafka::produce_atom::value, std::move(rec))
        .receive([](kafka::delivery_report&) {}, [&](caf::error& e) { out = e; });
    return out;
  }

  result<kafka::delivery_report> produce_one(kafka::outgoing_record rec) {
    return kafka::produce_sync(*sys, producer, std::move(rec), answer_bound);
  }

  std::shared_ptr<answers> request_all(std::vector<kafka::outgoing_record> records) {
    auto out = std::make_shared<answers>();
    auto client = sys->spawn(requester, producer, std::move(records), out);
    EXPECT_TRUE(eventually([&] { return out->all_sent.load(); }));
    clients_.push_back(client);
    return out;
  }

  template <class Pred>
  bool eventually(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + answer_bound;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  rd::handle_ptr client(rd_kafka_type_t type, std::map<std::string, std::string> props) {
    props.emplace("bootstrap.servers", bootstrap());
    auto conf = rd::make_conf(props, "test client");
    EXPECT_TRUE(conf.has_value()) << conf.error().describe();
    auto rk = rd::make_handle(type, std::move(*conf), "test client");
    EXPECT_TRUE(rk.has_value()) << rk.error().describe();
    return std::move(*rk);
  }

  // Every record of `name` (all `partitions`), read from the start to the end of each
  // partition by an assigned consumer.
  std::vector<read_record> read_all(const std::string& name, int partitions,
                                    const std::string& isolation = "read_uncommitted") {
    auto rk = client(RD_KAFKA_CONSUMER, {{"group.id", "reader"},
                                         {"enable.partition.eof", "true"},
                                         {"enable.auto.commit", "false"},
                                         {"isolation.level", isolation}});
    rd::topic_partition_list_ptr list{rd_kafka_topic_partition_list_new(partitions)};
    for (int p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list.get(), name.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    EXPECT_EQ(rd_kafka_assign(rk.get(), list.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::vector<read_record> out;
    std::set<std::int32_t> at_end;
    auto deadline = std::chrono::steady_clock::now() + answer_bound;
    while (static_cast<int>(at_end.size()) < partitions) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "reading " << name << " did not reach the end";
        break;
      }
      rd::message_ptr m{rd_kafka_consumer_poll(rk.get(), 100)};
      if (!m)
        continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        at_end.insert(m->partition);
        continue;
      }
      if (m->err)
        continue; // transient, e.g. metadata not yet there
      read_record r;
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key)
        r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload)
        r.value.assign(static_cast<const char*>(m->payload), m->len);
      r.headers = rd::read_headers(*m);
      out.push_back(std::move(r));
    }
    rd_kafka_consumer_close(rk.get());
    return out;
  }

  std::int64_t end_offset(const std::string& name, int partition) {
    auto rk = client(RD_KAFKA_PRODUCER, {});
    std::int64_t low = -1, high = -1;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk.get(), name.c_str(), partition, &low,
                                               &high, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    return high;
  }

  // Metadata of a consumer group, taken from a plain librdkafka consumer of it.
  kafka::group_metadata metadata_of_group(const std::string& group) {
    auto rk = client(RD_KAFKA_CONSUMER, {{"group.id", group}});
    auto gm = kafka::group_metadata_of(*rk);
    EXPECT_TRUE(gm.has_value()) << gm.error().describe();
    return gm.has_value() ? *gm : kafka::group_metadata{};
  }

private:
  std::vector<caf::actor> clients_;
};

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
  ASSERT_TRUE(cluster().set_partition_leader(topic, 0, 1));
  auto cfg = config();
  cfg.properties["message.timeout.ms"] = "1000";
  // Reconnects soon after broker_up(), well within a message's timeout.
  cfg.properties["reconnect.backoff.ms"] = "10";
  cfg.properties["reconnect.backoff.max.ms"] = "100";
  start(cfg);
  ASSERT_TRUE(cluster().broker_down(1));

  auto err = produce_error(record("k", "lost", 0));
  ASSERT_TRUE(err);
  EXPECT_EQ(err.category(), runtime::phoenix_error_category);
  EXPECT_EQ(err.code(), static_cast<std::uint8_t>(runtime::errc::kafka_error));
  auto text = runtime::describe(err);
  EXPECT_TRUE(contains(text, "delivery to orders failed: Local: Message timed out"))
      << text;

  ASSERT_TRUE(cluster().broker_up(1));
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
  ASSERT_TRUE(
      cluster().push_request_errors(22, {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED}));
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
  ASSERT_TRUE(
      cluster().push_request_errors(22, {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED}));
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
  start(config());
  ASSERT_TRUE(cluster().push_request_errors(0, {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
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
  ASSERT_TRUE(cluster().set_partition_leader(topic, 0, 1));
  auto cfg = config();
  cfg.properties["message.timeout.ms"] = "300000";
  cfg.flush_timeout = 500ms;
  start(cfg);
  ASSERT_TRUE(cluster().broker_down(1));
  std::vector<kafka::outgoing_record> records;
  for (int i = 0; i < 10; ++i)
    records.push_back(record("k", "v" + std::to_string(i), 0));
  auto out = request_all(std::move(records));
  EXPECT_TRUE(runtime::is_normal_exit(stop_supervisor()));
  ASSERT_TRUE(eventually([&] { return out->count() == 10; }));
  std::lock_guard<std::mutex> g{out->mtx};
  EXPECT_TRUE(out->delivered.empty());
  for (auto& f : out->failed)
    EXPECT_TRUE(contains(f, "delivery to orders failed: not delivered before shutdown"))
        << f;
}

TEST_F(producer_actor_test, killed_producer_still_answers_its_requesters) {
  ASSERT_TRUE(cluster().set_partition_leader(topic, 0, 1));
  auto cfg = config();
  cfg.properties["message.timeout.ms"] = "300000";
  spawn(cfg);
  ASSERT_TRUE(cluster().broker_down(1));
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
    EXPECT_TRUE(contains(f, "delivery to orders failed: producer stopped")) << f;
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

class producer_txn_test : public producer_actor_test {
protected:
  kafka::producer_config txn_config(std::string id = "txn-1") {
    auto cfg = config();
    cfg.transactional_id = std::move(id);
    return cfg;
  }
};

TEST_F(producer_txn_test, committed_transaction_is_read_by_a_read_committed_consumer) {
  create_topic("orders.in", 1);
  start(txn_config());
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  for (int i = 0; i < 3; ++i) {
    auto r = produce_one(record("k" + std::to_string(i), "v" + std::to_string(i), 0));
    ASSERT_TRUE(r.has_value()) << r.error().describe();
  }
  std::vector<kafka::partition_offset> offsets{{"orders.in", 0, 42}};
  auto sent = ask(kafka::send_offsets_atom::value, offsets, metadata_of_group("txn-group"));
  ASSERT_FALSE(sent) << runtime::describe(sent);
  auto committed = ask(kafka::commit_txn_atom::value);
  ASSERT_FALSE(committed) << runtime::describe(committed);

  auto records = read_all(topic, 3, "read_committed");
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(records[static_cast<std::size_t>(i)].value, "v" + std::to_string(i));
  // librdkafka's mock group coordinator answers TxnOffsetCommit without storing the
  // offsets (rd_kafka_committed() reads none back), so that the offsets travel with
  // the transaction is shown by abortable_error_is_typed_... failing that very request.
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
    h.receive([](kafka::delivery_report&) { ADD_FAILURE() << "aborted record delivered"; },
              [](caf::error& err) {
                auto text = runtime::describe(err);
                EXPECT_TRUE(contains(text, "delivery to orders failed: Local: Purged"))
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
  create_topic("orders.in", 1);
  start(txn_config());
  ASSERT_TRUE(cluster().push_request_errors(
      28, {RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED})); // TxnOffsetCommit
  ASSERT_OK(ask(kafka::begin_txn_atom::value));
  auto r = produce_one(record("k", "lost", 0));
  ASSERT_TRUE(r.has_value()) << r.error().describe();
  std::vector<kafka::partition_offset> offsets{{"orders.in", 0, 7}};
  auto err = ask(kafka::send_offsets_atom::value, offsets, metadata_of_group("txn-group"));
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
  spawn(txn_config());
  ASSERT_TRUE(
      cluster().push_request_errors(26, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED})); // EndTxn
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
  EXPECT_TRUE(contains(r.error().message(), "produce to orders")) << r.error().message();
}

TEST_F(producer_txn_test, transaction_calls_on_a_plain_producer_are_refused) {
  start(config());
  auto err = ask(kafka::begin_txn_atom::value);
  EXPECT_EQ(kafka::txn_error_code(err), kafka::txn_errc::refused) << runtime::describe(err);
}

TEST_F(producer_txn_test, bad_transactional_setup_fails_the_start) {
  ASSERT_TRUE(cluster().push_request_errors(
      22, {RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED}));
  runtime::supervisor_spec spec;
  spec.name = "kafka";
  spec.children.push_back(kafka::producer_child("producer", txn_config()));
  auto r = runtime::start_supervisor(*sys, std::move(spec));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message(), "test: initialising transactions of 'txn-1'"))
      << r.error().message();
}

} // namespace
