#pragma once

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace phoenix::kafka {

/// librdkafka's in-process mock Kafka cluster: real Kafka protocol on localhost sockets,
/// no JVM. Used by the embedded default node, `phoenix mock-cluster`, and the tests.
///
/// Move-only. A moved-from cluster may only be destroyed or assigned to; its other
/// methods return `errc::invalid_argument`. Broker ids run from 1 to broker_count().
/// Every librdkafka failure is reported as `runtime::errc::kafka_error` with librdkafka's
/// own error string.
class mock_cluster {
public:
  /// Starts a cluster of `brokers` brokers listening on ephemeral localhost ports.
  /// Errors: `invalid_argument` if brokers < 1; `kafka_error` if librdkafka cannot
  /// create its client handle or the cluster.
  static result<mock_cluster> start(int brokers = 3);

  mock_cluster(mock_cluster&&) noexcept;
  mock_cluster& operator=(mock_cluster&&) noexcept;
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;
  ~mock_cluster();

  /// The `bootstrap.servers` value for clients of this cluster ("127.0.0.1:port,...").
  std::string bootstrap_servers() const;

  int broker_count() const;

  /// Errors: `kafka_error` if the topic exists or the counts are invalid.
  result<void> create_topic(const std::string& name, int partitions, int replication = 1);

  /// Closes the broker's connections and refuses new ones. Leadership does not move:
  /// requests for partitions it leads fail until broker_up() or set_partition_leader().
  /// Errors: `kafka_error` for an unknown broker id.
  result<void> broker_down(int broker_id);

  /// Lets the broker accept connections again. Errors: as broker_down().
  result<void> broker_up(int broker_id);

  /// Delays every response of the broker by `rtt`. Errors: `invalid_argument` for a
  /// negative rtt, `kafka_error` for an unknown broker id.
  result<void> set_rtt(int broker_id, std::chrono::milliseconds rtt);

  /// Makes the next requests of Kafka API `api_key` (0 Produce, 1 Fetch, 3 Metadata, ...)
  /// fail, one per request and in order, with the given `rd_kafka_resp_err_t` codes, on
  /// whichever broker receives them. Errors: `invalid_argument` for an api key outside
  /// 0..32767.
  result<void> push_request_errors(int api_key, std::vector<int> rd_kafka_resp_err_codes);

  /// Moves the partition's leadership to `broker_id` (-1: no leader). As for clients'
  /// requests, librdkafka auto-creates an unknown topic (with its default partition
  /// count) first. Errors: `kafka_error` for an unknown partition or broker.
  result<void> set_partition_leader(const std::string& topic, int partition, int broker_id);

private:
  struct impl;
  explicit mock_cluster(std::unique_ptr<impl> state);

  std::unique_ptr<impl> impl_;
};

} // namespace phoenix::kafka
