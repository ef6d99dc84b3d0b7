#pragma once

// Making and reading kafka::group_metadata, which wraps librdkafka's consumer group
// metadata behind the public header.

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"

namespace phoenix::kafka {

struct group_metadata_access {
  /// Takes ownership of `owned` (non-null).
  static group_metadata adopt(rd_kafka_consumer_group_metadata_t* owned);

  /// Null for an empty group_metadata.
  static const rd_kafka_consumer_group_metadata_t* native(const group_metadata& gm);
};

/// The current group metadata of `consumer` (group id, generation, member id), for a
/// transactional producer's send_offsets_atom. Take it after the consumer's last poll
/// before the offsets are sent, so that it carries the current generation.
/// Errors: errc::invalid_argument when `consumer` is no consumer with a `group.id`.
result<group_metadata> group_metadata_of(rd_kafka_t& consumer);

} // namespace phoenix::kafka
