#pragma once

#include "phoenix/actors/kafka/mock_cluster.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace phoenix::testkit {

/// Record headers in order as (name, value) pairs; a null value reads as "".
using header_list = std::vector<std::pair<std::string, std::string>>;

/// A record read back by consume_from() / mock_cluster_fixture::consume_all().
struct consumed_record {
  std::string key;
  std::string value;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  header_list headers;
};

/// librdkafka properties of one client (bootstrap.servers, security.protocol, ssl.*).
using client_properties_map = std::map<std::string, std::string>;

/// Produces one record with an idempotent producer (acks=all) and waits for its delivery
/// report. A failed delivery is a fatal test failure; wrap the call in
/// ASSERT_NO_FATAL_FAILURE to stop the test there.
void produce_to(const std::string& bootstrap, const std::string& topic,
                const std::string& key, const std::string& value,
                const header_list& headers = {});

/// As above, with full client settings (e.g. TLS) instead of a bootstrap string.
void produce_to(const client_properties_map& client, const std::string& topic,
                const std::string& key, const std::string& value,
                const header_list& headers = {});

/// Reads `topic` as a member of consumer group `group`, from the group's committed
/// offsets (earliest if it has none), until `expected_count` records arrived or `timeout`
/// passed; commits what it read and returns it. Fewer records than expected is not a
/// failure here, the caller asserts. Expect ~3 s for the mock coordinator's first join.
std::vector<consumed_record> consume_from(const std::string& bootstrap,
                                          const std::string& topic,
                                          const std::string& group,
                                          std::size_t expected_count,
                                          std::chrono::milliseconds timeout);

/// As above, with full client settings (e.g. TLS) instead of a bootstrap string.
std::vector<consumed_record> consume_from(const client_properties_map& client,
                                          const std::string& topic,
                                          const std::string& group,
                                          std::size_t expected_count,
                                          std::chrono::milliseconds timeout);

/// A fresh 3-broker librdkafka mock cluster for every test. Inject faults through
/// cluster(): broker_down/up, set_rtt, push_request_errors, set_partition_leader.
class mock_cluster_fixture : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  kafka::mock_cluster& cluster() { return *cluster_; }
  const std::string& bootstrap() const { return bootstrap_; }

  /// Creates a topic with replication factor 1; a failure is a fatal test failure.
  void create_topic(const std::string& name, int partitions);

  /// produce_to() this cluster.
  void produce(const std::string& topic, const std::string& key, const std::string& value,
               const header_list& headers = {}) {
    produce_to(bootstrap_, topic, key, value, headers);
  }

  /// consume_from() this cluster.
  std::vector<consumed_record>
  consume_all(const std::string& topic, const std::string& group,
              std::size_t expected_count,
              std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return consume_from(bootstrap_, topic, group, expected_count, timeout);
  }

private:
  std::optional<kafka::mock_cluster> cluster_;
  std::string bootstrap_;
};

} // namespace phoenix::testkit
