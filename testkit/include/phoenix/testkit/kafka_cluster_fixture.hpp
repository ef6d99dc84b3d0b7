#pragma once

#include "phoenix/actors/kafka/mock_cluster.hpp"
#include "phoenix/runtime/error.hpp"
#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::testkit {

/// A real Kafka cluster as `deploy/kafka/cluster.sh` describes it in its `cluster.env`.
struct real_cluster {
  std::string mode; ///< "tls" or "plaintext"
  std::string bootstrap;
  std::string clients; ///< folder of <identity>.properties and <identity>.toml

  /// The client settings of an identity: admin (super user), phoenix-node, and in TLS
  /// mode reader, intruder, anonymous (no certificate). Errors: `invalid_argument`
  /// naming the file if the identity has none.
  result<client_properties_map> client(const std::string& identity) const;

  /// A phoenix config file with only the identity's `[kafka]` section, for `--config`.
  std::string config_file(const std::string& identity) const {
    return clients + "/" + identity + ".toml";
  }
};

/// Client settings from a file of KEY=VALUE lines (as cluster.sh writes them; '#' starts
/// a comment). Errors: `invalid_argument` naming the file if it cannot be read.
result<client_properties_map> read_client_properties(const std::string& path);

/// What one broker says about a topic when asked alone.
struct topic_view {
  bool answered = false; ///< false: no metadata answer within 5 s
  int error = 0;         ///< the topic's error as an rd_kafka_resp_err_t, 0 for none
  int partitions = 0;
  int led = 0; ///< partitions with a leader and no error
};

/// Asks `broker` (host:port, one of bootstrap.servers), and no other, about `topic` as
/// the client `client`: a fresh client bootstrapped from that broker alone. Brokers learn
/// of topics and ACLs from the metadata log each at its own pace, so tests that must not
/// race a change wait until every broker reports it.
topic_view topic_at(const client_properties_map& client, const std::string& broker,
                    const std::string& topic);

/// The host:port entries of a bootstrap.servers list.
std::vector<std::string> brokers_of(const std::string& bootstrap);

/// The cluster the environment variable PHOENIX_SYSTEM_KAFKA names (the path of a
/// cluster.env), or nothing if it is unset. Errors: `invalid_argument` naming the file
/// if it is unreadable or lacks MODE, BOOTSTRAP or CLIENTS.
result<std::optional<real_cluster>> real_cluster_from_env();

/// A Kafka cluster for each test, so that one test runs in two tiers: the real cluster
/// of the system tier when PHOENIX_SYSTEM_KAFKA names one (TLS, replication factor 3),
/// else a fresh 3-broker librdkafka mock cluster. The real cluster outlives the test, so
/// tests name topics and groups through unique_name().
class kafka_cluster_fixture : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  /// The mock cluster, for fault injection; null on the real cluster (see
  /// PHOENIX_MOCK_ONLY).
  kafka::mock_cluster* mock() { return mock_ ? &*mock_ : nullptr; }

  /// The real cluster; null on the mock cluster.
  const real_cluster* real() const { return real_ ? &*real_ : nullptr; }

  const std::string& bootstrap() const { return bootstrap_; }

  /// bootstrap.servers and, on the real cluster, the identity's TLS settings. A missing
  /// identity is a test failure (and an empty map).
  client_properties_map
  client_properties(const std::string& identity = "phoenix-node") const;

  /// `base` with a suffix unique to this test and process ("orders.t3f9a2-1").
  std::string unique_name(const std::string& base) const;

  /// Creates a topic with replication factor 3 on the real cluster (1 on the mock) and
  /// waits until every partition has a leader; a failure is a fatal test failure.
  void create_topic(const std::string& name, int partitions);

  /// produce_to() / consume_from() as phoenix-node.
  void produce(const std::string& topic, const std::string& key, const std::string& value,
               const header_list& headers = {}) {
    produce_to(client_properties(), topic, key, value, headers);
  }
  std::vector<consumed_record>
  consume_all(const std::string& topic, const std::string& group,
              std::size_t expected_count,
              std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return consume_from(client_properties(), topic, group, expected_count, timeout);
  }

private:
  std::optional<kafka::mock_cluster> mock_;
  std::optional<real_cluster> real_;
  std::string bootstrap_;
  std::string suffix_;
};

} // namespace phoenix::testkit

/// Skips a test that injects faults into the mock cluster when it runs on the real one.
#define PHOENIX_MOCK_ONLY()                                                                \
  if (!mock())                                                                             \
  GTEST_SKIP() << "needs the mock cluster's fault injection"

/// Skips a test that needs what only a real broker does (transaction markers, stored
/// transaction offsets, ACLs) when it runs on the mock cluster.
#define PHOENIX_REAL_ONLY()                                                                \
  if (!real())                                                                             \
  GTEST_SKIP() << "needs the real cluster of the system tier"
