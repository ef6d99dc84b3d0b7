#pragma once

#include "phoenix/testkit/mock_cluster_fixture.hpp"

#include <optional>
#include <string>
#include <vector>

namespace phoenix::testkit {

/// What a consumer saw first: a record's value, or an error.
struct read_outcome {
  std::optional<std::string> value;
  int err = 0; ///< rd_kafka_resp_err_t; 0 with a value
  std::string errstr;
};

/// Subscribes to `topic` in `group` as the client `props` and polls (at most 30 s) until
/// a record or an error arrives: how a client finds out whether the ACLs let it read
/// (`RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED`, `..._GROUP_AUTHORIZATION_FAILED`).
read_outcome read_first(client_properties_map props, const std::string& topic,
                        const std::string& group);

/// Waits (at most 30 s) until every broker, asked alone as `props`, reports `topic` with
/// `error` (an rd_kafka_resp_err_t; 0: the topic is served): brokers apply an ACL change
/// when their copy of the metadata log reaches it, a moment after the controller
/// confirmed it to the admin client.
bool every_broker_reports(const client_properties_map& props, const std::string& topic,
                          int error);

/// Asks for metadata as `props` (2 s) and returns every error librdkafka reported on the
/// way, e.g. the TLS handshake's ("... certificate ..."). A metadata answer is a test
/// failure: the cluster was expected to refuse the client.
std::vector<std::string> connection_errors(const client_properties_map& props);

} // namespace phoenix::testkit
