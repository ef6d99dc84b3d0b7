#pragma once

// What the producer actor tests share: a cluster with one 3-partition topic (the mock
// one in the integration tier, the real TLS cluster in the system tier), an actor
// system, the producer under a supervisor or alone, requests and their answers, and a
// reader of what reached the topic.

#include "kafka/group_metadata.hpp"
#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/testkit/kafka_cluster_fixture.hpp"

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

namespace phoenix::itest {

namespace rd = phoenix::kafka::rd;
using namespace std::chrono_literals;

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
inline caf::behavior requester(caf::event_based_actor* self, caf::actor producer,
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

// A request answered without an error.
#define ASSERT_OK(answer)                                                                  \
  do {                                                                                     \
    auto answer_ = (answer);                                                               \
    ASSERT_FALSE(answer_) << runtime::describe(answer_);                                   \
  } while (false)

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class producer_actor_test : public testkit::kafka_cluster_fixture {
protected:
  std::string topic;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor root;     // the supervisor, when started through one
  caf::actor producer; // the producer actor's current incarnation

  void SetUp() override {
    kafka_cluster_fixture::SetUp();
    if (HasFatalFailure())
      return;
    topic = unique_name("orders");
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
    kafka_cluster_fixture::TearDown();
  }

  kafka::outgoing_record record(std::string key, std::string value,
                                std::optional<std::int32_t> partition = std::nullopt) {
    kafka::outgoing_record r;
    r.topic = topic;
    r.key = std::move(key);
    r.value = std::move(value);
    r.partition = partition;
    return r;
  }

  kafka::producer_config config() {
    kafka::producer_config cfg;
    cfg.properties = client_properties();
    cfg.properties["linger.ms"] = "5";
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
    props.merge(client_properties());
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

} // namespace phoenix::itest
