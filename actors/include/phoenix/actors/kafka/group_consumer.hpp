#pragma once

#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace phoenix::kafka {

struct group_consumer_config {
  /// librdkafka properties (`[kafka]` of the node config); `group.id` is required.
  std::map<std::string, std::string> properties;
  std::string origin = "<config>"; ///< Names the config source in error messages.
  std::vector<std::string> topics;
  std::size_t poll_batch = 1000;     ///< Records taken per poll round.
  std::size_t max_in_flight = 20000; ///< Records dispatched but not done, all partitions.
  std::chrono::milliseconds commit_interval{1000};
  int max_crashes_per_record = 3; ///< Then the record is given up (logged, counted).
  std::chrono::milliseconds shutdown_timeout{10000};
};

/// A supervised child that consumes `cfg.topics` in one consumer group and hands every
/// record, decoded, to `handler` in the actor of its partition. The consumer runs in a
/// detached actor that owns the librdkafka handle and polls in a self-message loop, so
/// stop requests and partition progress are served between polls. Partition actors are
/// spawned as partitions arrive and restarted (from the first record not yet done) when
/// they crash. An offset is committed only when it and every lower offset of its
/// partition are done.
///
/// Errors (from the start function): errc::config_* for a property librdkafka rejects,
/// errc::kafka_error when the consumer cannot be created or subscribed.
runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         record_handler handler,
                                         std::shared_ptr<consumer_stats> stats);

} // namespace phoenix::kafka
