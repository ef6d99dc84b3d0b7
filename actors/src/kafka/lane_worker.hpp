#pragma once

// A lane: the actor that runs the handler for one share of a partition's keys. With
// per-key concurrency off, a partition has one lane and records run in offset order;
// with N lanes, a record goes to lane hash(key) % N, so one key's records stay in order
// while different keys run at once. Private to the kafka actors.

#include "phoenix/actors/kafka/record.hpp"

#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <deque>
#include <memory>
#include <vector>

namespace phoenix::kafka {

/// Records of one lane, in offset order, handed over in one message.
struct lane_batch {
  std::vector<consumed_record> records;
};
using lane_batch_ptr = std::shared_ptr<const lane_batch>;

/// Lane to consumer: every record of this lane up to `last` is done.
using lane_done_atom = caf::atom_constant<caf::atom("lane_done")>;

/// Shared by a lane and the consumer, without messages. `last`: written by the lane after
/// each record, the offset of the last record it finished; it survives the lane, so a
/// restarted lane (and a consumer draining a revoked partition) knows where it stands.
/// `cancelled`: set by the consumer when the partition is revoked or lost; the lane
/// starts no further record, even if its mailbox still holds some, since the partition
/// may already be read by its next owner.
struct lane_control {
  std::atomic<std::int64_t> last{-1};
  std::atomic<bool> cancelled{false};
};
using lane_progress = std::shared_ptr<lane_control>;

struct lane_id {
  topic_partition tp;
  int lane = 0;
};

struct lane_state {
  std::deque<lane_batch_ptr> batches; // waiting, in offset order; shared, not copied
  std::size_t next = 0;               // index of the next record in the front batch
  bool busy = false;                  // an actor handler's reply is awaited
};

/// Runs `h` for each record. An exception from a function handler, or an actor handler
/// that fails or does not answer in time, ends the lane with an error (a crash) for the
/// consumer to restart it.
caf::behavior lane_worker(caf::stateful_actor<lane_state>* self, caf::actor consumer,
                          lane_id id, lane_progress progress, handler h,
                          std::shared_ptr<consumer_stats> stats);

} // namespace phoenix::kafka

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::kafka::lane_batch_ptr)
