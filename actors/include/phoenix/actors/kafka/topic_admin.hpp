#pragma once

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace phoenix::kafka {

/// A topic to have.
struct topic_request {
  std::string name;
  /// Partitions if it is created; 0: as many as `like` has, else the brokers' default.
  int partitions = 0;
  std::string like;            ///< The topic whose partition count to copy (may be empty).
  int replication_factor = -1; ///< -1: the brokers' `default.replication.factor`.
};

/// What became of one requested topic.
struct topic_outcome {
  std::string name;
  bool ok = false;             ///< It exists and every broker serves it (or it existed).
  bool created = false;        ///< This call created it.
  bool not_authorized = false; ///< The client may not create it (no CREATE ACL).
  std::string reason;          ///< Why not ok, as the brokers or librdkafka said it.
};

/// Makes sure the topics exist, through librdkafka's Admin API as the client in
/// `properties` (librdkafka keys, as under `[kafka]`): the ones the cluster's metadata
/// lists already are kept as they are; the others are created in one CreateTopics
/// request ("already exists" counts as success: another node was quicker), and then
/// awaited until every broker of the cluster serves them with a leader per partition
/// (brokers learn of new topics each at its own pace; a consumer that asks one that has
/// not yet would not see the topic until its next metadata refresh). Everything within
/// `timeout`. Per-topic failures (not authorized, invalid replication factor, not served
/// in time) are outcomes, not errors.
///
/// Errors: `config_unknown_key` / `config_bad_value` for a property librdkafka rejects,
/// naming `origin`; `kafka_error` when the client cannot be created or the cluster's
/// metadata cannot be read within `timeout`.
result<std::vector<topic_outcome>>
ensure_topics(const std::map<std::string, std::string>& properties,
              const std::string& origin, const std::vector<topic_request>& topics,
              std::chrono::milliseconds timeout);

} // namespace phoenix::kafka
