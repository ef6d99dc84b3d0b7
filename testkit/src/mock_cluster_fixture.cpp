#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <map>
#include <string>
#include <utility>

// The actors module's private librdkafka wrapper: the one home of the RAII deleters and
// of make_conf(), whose definitions phoenix_actors (a public dependency) carries.
#include "kafka/rdkafka.hpp"

namespace phoenix::testkit {
namespace {

namespace rd = kafka::rd;

struct delivery {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* d = static_cast<delivery*>(msg->_private);
  d->done = true;
  d->err = msg->err;
}

} // namespace

void produce_to(const std::string& bootstrap, const std::string& topic,
                const std::string& key, const std::string& value,
                const header_list& headers) {
  produce_to(client_properties_map{{"bootstrap.servers", bootstrap}}, topic, key, value,
             headers);
}

void produce_to(const client_properties_map& client, const std::string& topic,
                const std::string& key, const std::string& value,
                const header_list& headers) {
  // A test that injects faults must not wait librdkafka's default five minutes.
  auto props = client;
  props.insert({{"enable.idempotence", "true"},
                {"linger.ms", "0"},
                {"message.timeout.ms", "10000"}});
  auto conf = rd::make_conf(props, "testkit producer");
  ASSERT_TRUE(conf) << conf.error().describe();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery);
  auto producer = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "testkit producer");
  ASSERT_TRUE(producer) << producer.error().describe();

  delivery d;
  auto queued = rd::produce(**producer, topic, key, value, headers, &d);
  ASSERT_TRUE(queued) << queued.error().describe();

  rd_kafka_flush(producer->get(), 15000);
  ASSERT_TRUE(d.done) << "produce to " << topic << ": no delivery report within 15 s";
  ASSERT_EQ(d.err, RD_KAFKA_RESP_ERR_NO_ERROR)
      << "produce to " << topic << ": " << rd_kafka_err2str(d.err);
}

std::vector<consumed_record> consume_from(const std::string& bootstrap,
                                          const std::string& topic,
                                          const std::string& group,
                                          std::size_t expected_count,
                                          std::chrono::milliseconds timeout) {
  return consume_from(client_properties_map{{"bootstrap.servers", bootstrap}}, topic, group,
                      expected_count, timeout);
}

std::vector<consumed_record> consume_from(const client_properties_map& client,
                                          const std::string& topic,
                                          const std::string& group,
                                          std::size_t expected_count,
                                          std::chrono::milliseconds timeout) {
  std::vector<consumed_record> out;
  // The mock group coordinator waits out session timeouts in rebalances: keep them short.
  auto props = client;
  props.insert({{"group.id", group},
                {"auto.offset.reset", "earliest"},
                {"session.timeout.ms", "3000"},
                {"heartbeat.interval.ms", "500"},
                {"max.poll.interval.ms", "3000"}});
  auto conf = rd::make_conf(props, "testkit consumer");
  if (!conf) {
    ADD_FAILURE() << conf.error().describe();
    return out;
  }
  auto consumer = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "testkit consumer");
  if (!consumer) {
    ADD_FAILURE() << consumer.error().describe();
    return out;
  }
  rd_kafka_t* rk = consumer->get();
  rd_kafka_poll_set_consumer(rk);
  rd::topic_partition_list_ptr topics{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(rk, topics.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ADD_FAILURE() << "subscribe to " << topic << ": " << rd_kafka_err2str(err);
    return out;
  }

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < expected_count && std::chrono::steady_clock::now() < deadline) {
    rd::message_ptr msg{rd_kafka_consumer_poll(rk, 100)};
    if (!msg || msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
      continue; // transient (e.g. metadata not yet propagated); the caller sees the count
    consumed_record rec;
    if (msg->key)
      rec.key.assign(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload)
      rec.value.assign(static_cast<const char*>(msg->payload), msg->len);
    rec.partition = msg->partition;
    rec.offset = msg->offset;
    rec.headers = rd::read_headers(*msg);
    out.push_back(std::move(rec));
  }
  rd_kafka_consumer_close(rk); // commits what was read and leaves the group
  return out;
}

void mock_cluster_fixture::SetUp() {
  auto started = kafka::mock_cluster::start(3);
  ASSERT_TRUE(started) << started.error().describe();
  cluster_.emplace(std::move(*started));
  bootstrap_ = cluster_->bootstrap_servers();
}

void mock_cluster_fixture::TearDown() {
  cluster_.reset();
  bootstrap_.clear();
}

void mock_cluster_fixture::create_topic(const std::string& name, int partitions) {
  auto res = cluster().create_topic(name, partitions);
  ASSERT_TRUE(res) << res.error().describe();
}

} // namespace phoenix::testkit
