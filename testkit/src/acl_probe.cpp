#include "phoenix/testkit/acl_probe.hpp"

#include "phoenix/testkit/kafka_cluster_fixture.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>

// The actors module's private librdkafka wrapper (see mock_cluster_fixture.cpp).
#include "kafka/rdkafka.hpp"

namespace phoenix::testkit {

namespace rd = kafka::rd;
using namespace std::chrono_literals;

read_outcome read_first(client_properties_map props, const std::string& topic,
                        const std::string& group) {
  props.insert({{"group.id", group},
                {"auto.offset.reset", "earliest"},
                {"session.timeout.ms", "6000"},
                {"enable.auto.commit", "false"}});
  read_outcome out;
  auto conf = rd::make_conf(props, "acl test consumer");
  if (!conf) {
    ADD_FAILURE() << conf.error().describe();
    return out;
  }
  auto rk = rd::make_handle(RD_KAFKA_CONSUMER, std::move(*conf), "acl test consumer");
  if (!rk) {
    ADD_FAILURE() << rk.error().describe();
    return out;
  }
  rd_kafka_poll_set_consumer(rk->get());
  rd::topic_partition_list_ptr topics{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(rk->get(), topics.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    rd::message_ptr msg{rd_kafka_consumer_poll(rk->get(), 200)};
    if (!msg || msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      continue;
    if (msg->err) {
      out.err = msg->err;
      out.errstr = rd_kafka_message_errstr(msg.get());
    } else {
      out.value = std::string(static_cast<const char*>(msg->payload), msg->len);
    }
    break;
  }
  rd_kafka_consumer_close(rk->get());
  return out;
}

bool every_broker_reports(const client_properties_map& props, const std::string& topic,
                          int error) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (const auto& broker : brokers_of(props.at("bootstrap.servers")))
    for (auto v = topic_at(props, broker, topic); !v.answered || v.error != error;
         v = topic_at(props, broker, topic)) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(50ms);
    }
  return true;
}

std::vector<std::string> connection_errors(const client_properties_map& props) {
  struct collected {
    std::mutex mtx;
    std::vector<std::string> errors;
  } seen;
  auto conf = rd::make_conf(props, "acl test client");
  EXPECT_TRUE(conf) << conf.error().describe();
  if (!conf)
    return {};
  rd_kafka_conf_set_opaque(conf->get(), &seen);
  rd_kafka_conf_set_error_cb(conf->get(),
                             [](rd_kafka_t*, int, const char* reason, void* op) {
                               auto* c = static_cast<collected*>(op);
                               std::lock_guard<std::mutex> g{c->mtx};
                               c->errors.emplace_back(reason);
                             });
  auto rk = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "acl test client");
  EXPECT_TRUE(rk) << rk.error().describe();
  if (!rk)
    return {};
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk->get(), 1, nullptr, &md, 2000);
  rd::metadata_ptr owned{md};
  EXPECT_NE(err, RD_KAFKA_RESP_ERR_NO_ERROR) << "the cluster answered a metadata request";
  rd_kafka_poll(rk->get(), 100); // serve the error callbacks
  rk->reset();
  std::lock_guard<std::mutex> g{seen.mtx};
  return seen.errors;
}

} // namespace phoenix::testkit
