#pragma once

// The actor of one assigned partition: decodes each record's envelope and runs the
// handler, in offset order. Private to the kafka actors.

#include "phoenix/actors/kafka/record.hpp"

#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <memory>
#include <vector>

namespace phoenix::kafka {

/// Records of one partition, in offset order, handed to its actor in one message.
struct partition_batch {
  std::vector<consumed_record> records;
};
using partition_batch_ptr = std::shared_ptr<const partition_batch>;

/// Sent by a partition actor to its consumer: every record up to `last` is done.
using partition_done_atom = caf::atom_constant<caf::atom("pw_done")>;

/// Handles batches; after each record stores its offset in `progress`, so that after a
/// crash the consumer knows where to resume. An exception from the handler ends the
/// actor (crash), to be restarted by the consumer.
caf::behavior partition_worker(caf::event_based_actor* self, caf::actor consumer,
                               std::string topic, std::int32_t partition,
                               std::shared_ptr<std::atomic<std::int64_t>> progress,
                               record_handler handler,
                               std::shared_ptr<consumer_stats> stats);

} // namespace phoenix::kafka

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::kafka::partition_batch_ptr)
