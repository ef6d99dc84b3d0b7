// Phoenix's librdkafka mock cluster, its test fixture and `phoenix mock-cluster`, driven
// by real librdkafka clients.

#include "phoenix/actors/kafka/mock_cluster.hpp"

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/properties.hpp"
#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <poll.h>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

namespace rd = phoenix::kafka::rd;
using namespace std::chrono_literals;
using phoenix::testkit::consumed_record;
using phoenix::testkit::header_list;

class mock_cluster_test : public phoenix::testkit::mock_cluster_fixture {};

// A producer whose settings the test chooses, for what the fixture's helper hides.
class test_producer {
public:
  explicit test_producer(std::map<std::string, std::string> props) {
    auto conf = rd::make_conf(props, "test producer");
    if (!conf) {
      ADD_FAILURE() << conf.error().describe();
      return;
    }
    rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery);
    auto rk = rd::make_handle(RD_KAFKA_PRODUCER, std::move(*conf), "test producer");
    if (!rk) {
      ADD_FAILURE() << rk.error().describe();
      return;
    }
    rk_ = std::move(*rk);
  }

  explicit operator bool() const { return rk_ != nullptr; }
  rd_kafka_t* get() const { return rk_.get(); }

  // Produces one record and waits for its delivery report: the report's error, or
  // _TIMED_OUT if none came within `wait`.
  rd_kafka_resp_err_t produce(const std::string& topic, const std::string& value,
                              std::chrono::milliseconds wait = 15s) {
    rd_kafka_resp_err_t report = RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (auto queued = rd::produce(*rk_, topic, "key", value, {}, &report); !queued) {
      ADD_FAILURE() << queued.error().describe();
      return RD_KAFKA_RESP_ERR__FAIL;
    }
    rd_kafka_flush(rk_.get(), static_cast<int>(wait.count()));
    return report;
  }

private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
    *static_cast<rd_kafka_resp_err_t*>(msg->_private) = msg->err;
  }

  rd::handle_ptr rk_;
};

std::multiset<std::string> values_of(const std::vector<consumed_record>& records) {
  std::multiset<std::string> out;
  for (const auto& r : records)
    out.insert(r.value);
  return out;
}

TEST_F(mock_cluster_test, produced_records_are_consumed_back_with_headers) {
  create_topic("orders", 3);
  ASSERT_NO_FATAL_FAILURE(produce("orders", "o-1", "first", {{"tenant-id", "acme"}}));
  ASSERT_NO_FATAL_FAILURE(
      produce("orders", "o-2", "second", {{"ce_id", "42"}, {"ce_type", "order.placed"}}));
  ASSERT_NO_FATAL_FAILURE(produce("orders", "o-3", "third"));

  auto records = consume_all("orders", "readers", 3);

  ASSERT_EQ(records.size(), 3u);
  std::map<std::string, consumed_record> by_key;
  for (auto& r : records) {
    EXPECT_GE(r.partition, 0);
    EXPECT_LT(r.partition, 3);
    EXPECT_GE(r.offset, 0);
    by_key[r.key] = r;
  }
  EXPECT_EQ(by_key["o-1"].value, "first");
  EXPECT_EQ(by_key["o-1"].headers, (header_list{{"tenant-id", "acme"}}));
  EXPECT_EQ(by_key["o-2"].value, "second");
  EXPECT_EQ(by_key["o-2"].headers,
            (header_list{{"ce_id", "42"}, {"ce_type", "order.placed"}}));
  EXPECT_EQ(by_key["o-3"].value, "third");
  EXPECT_TRUE(by_key["o-3"].headers.empty());
}

TEST_F(mock_cluster_test, consumer_group_resumes_after_its_committed_offsets) {
  create_topic("events", 1);
  ASSERT_NO_FATAL_FAILURE(produce("events", "k", "one"));
  ASSERT_EQ(consume_all("events", "resumer", 1).size(), 1u);
  ASSERT_NO_FATAL_FAILURE(produce("events", "k", "two"));

  auto records = consume_all("events", "resumer", 1);

  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "two");
  EXPECT_EQ(records[0].offset, 1);
}

TEST_F(mock_cluster_test,
       leader_down_fails_produce_and_after_up_nothing_acknowledged_is_lost) {
  ASSERT_TRUE(cluster().create_topic("payments", 1, 3));
  ASSERT_TRUE(cluster().set_partition_leader("payments", 0, 1));
  ASSERT_NO_FATAL_FAILURE(produce("payments", "p", "acked-1"));
  ASSERT_NO_FATAL_FAILURE(produce("payments", "p", "acked-2"));
  test_producer producer{{{"bootstrap.servers", bootstrap()},
                          {"acks", "all"},
                          {"linger.ms", "0"},
                          {"message.timeout.ms", "2000"},
                          {"reconnect.backoff.max.ms", "250"}}};
  ASSERT_TRUE(producer);
  ASSERT_EQ(producer.produce("payments", "acked-3"), RD_KAFKA_RESP_ERR_NO_ERROR);

  ASSERT_TRUE(cluster().broker_down(1));
  const auto during_outage = producer.produce("payments", "lost-in-outage");
  EXPECT_NE(during_outage, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_NE(during_outage, RD_KAFKA_RESP_ERR__TIMED_OUT) << "no delivery report at all";

  ASSERT_TRUE(cluster().broker_up(1));
  ASSERT_EQ(producer.produce("payments", "acked-4"), RD_KAFKA_RESP_ERR_NO_ERROR);

  auto records = consume_all("payments", "auditors", 4);
  EXPECT_EQ(values_of(records),
            (std::multiset<std::string>{"acked-1", "acked-2", "acked-3", "acked-4"}));
}

TEST_F(mock_cluster_test,
       idempotent_producer_survives_retriable_produce_errors_exactly_once) {
  create_topic("ledger", 1);
  constexpr int produce_api = 0;
  ASSERT_TRUE(cluster().push_request_errors(
      produce_api, {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS}));

  ASSERT_NO_FATAL_FAILURE(produce("ledger", "entry", "exactly-once")); // idempotent

  // A producer that never retries succeeds only if the idempotent one took every injected
  // error: Produce requests are the only ones that pop them.
  test_producer no_retries{{{"bootstrap.servers", bootstrap()},
                            {"linger.ms", "0"},
                            {"message.send.max.retries", "0"}}};
  ASSERT_TRUE(no_retries);
  ASSERT_EQ(no_retries.produce("ledger", "probe"), RD_KAFKA_RESP_ERR_NO_ERROR);
  int64_t low = -1;
  int64_t high = -1;
  ASSERT_EQ(
      rd_kafka_query_watermark_offsets(no_retries.get(), "ledger", 0, &low, &high, 5000),
      RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(high - low, 2) << "the log holds a duplicate";
  auto records = consume_all("ledger", "bookkeepers", 2);
  EXPECT_EQ(values_of(records), (std::multiset<std::string>{"exactly-once", "probe"}));
}

TEST_F(mock_cluster_test, injected_produce_error_reaches_a_producer_without_retries) {
  create_topic("audit", 1);
  ASSERT_TRUE(cluster().push_request_errors(0, {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS}));
  test_producer no_retries{{{"bootstrap.servers", bootstrap()},
                            {"linger.ms", "0"},
                            {"message.send.max.retries", "0"}}};
  ASSERT_TRUE(no_retries);

  EXPECT_EQ(no_retries.produce("audit", "refused"), RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(no_retries.produce("audit", "accepted"), RD_KAFKA_RESP_ERR_NO_ERROR);
}

TEST_F(mock_cluster_test, fault_injection_names_unknown_brokers_and_partitions) {
  create_topic("t", 1);
  auto down = cluster().broker_down(9);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), phoenix::runtime::errc::kafka_error);
  EXPECT_NE(down.error().message().find("broker 9"), std::string::npos)
      << down.error().message();
  EXPECT_FALSE(cluster().set_rtt(9, 10ms));
  EXPECT_FALSE(cluster().set_partition_leader("t", 5, 1));
  EXPECT_FALSE(cluster().set_partition_leader("t", 0, 9));
  EXPECT_FALSE(cluster().push_request_errors(-1, {1}));
  EXPECT_FALSE(cluster().create_topic("t", 1)) << "topic exists";
  EXPECT_TRUE(cluster().set_rtt(2, 5ms));
  EXPECT_EQ(cluster().broker_count(), 3);
}

TEST(mock_cluster, start_rejects_fewer_than_one_broker) {
  auto c = phoenix::kafka::mock_cluster::start(0);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), phoenix::runtime::errc::invalid_argument);
}

TEST(mock_cluster, moved_from_cluster_reports_an_error_instead_of_crashing) {
  auto c = phoenix::kafka::mock_cluster::start(1);
  ASSERT_TRUE(c) << c.error().describe();
  phoenix::kafka::mock_cluster moved = std::move(*c);
  EXPECT_FALSE(c->create_topic("t", 1)); // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(moved.create_topic("t", 1));
  EXPECT_FALSE(moved.bootstrap_servers().empty());
}

TEST(kafka_properties, validate_rejects_unknown_key_and_bad_value_naming_key_and_origin) {
  auto unknown =
      phoenix::kafka::validate_properties({{"no.such.property", "1"}}, "node.toml");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), phoenix::runtime::errc::config_unknown_key);
  EXPECT_EQ(unknown.error().message().rfind("node.toml: [kafka] no.such.property: ", 0), 0u)
      << unknown.error().message();

  auto bad = phoenix::kafka::validate_properties({{"acks", "sometimes"}}, "node.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), phoenix::runtime::errc::config_bad_value);
  EXPECT_EQ(bad.error().message().rfind("node.toml: [kafka] acks: ", 0), 0u)
      << bad.error().message();

  EXPECT_TRUE(phoenix::kafka::validate_properties(
      {{"acks", "all"}, {"enable.idempotence", "true"}}, "node.toml"));
}

} // namespace
