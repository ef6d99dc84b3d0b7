#pragma once

// A lane: the actor that runs the handler for one share of a partition's keys. With
// per-key concurrency off, a partition has one lane and records run in offset order;
// with N lanes, a record goes to lane hash(key) % N, so one key's records stay in order
// while different keys run at once. Private to the kafka actors.

#include "kafka/lane_channel.hpp"
#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/actors/policies/admission.hpp"
#include "policies/failure_path.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace phoenix::persistence {
class trace_log;
} // namespace phoenix::persistence

namespace phoenix::kafka {

/// Consumer to lane: records wait in the channel.
using lane_wake_atom = caf::atom_constant<caf::atom("lane_wake")>;

/// Lane to consumer: the lane made progress (read it from the channel).
/// `(lane_done_atom, partition id, lane index)`.
using lane_done_atom = caf::atom_constant<caf::atom("lane_done")>;

/// Lane to itself: a record that had to wait for its tenant's token or its downstream's
/// breaker asks again.
using guard_wake_atom = caf::atom_constant<caf::atom("guard_wake")>;

struct lane_id {
  std::uint64_t partition = 0; ///< The consumer's id of the partition's state.
  std::uint32_t lane = 0;
};

/// Timer of a lane: run again (a backoff or a retry topic's due time is over).
using lane_retry_atom = caf::atom_constant<caf::atom("lane_retry")>;

/// Timer of a lane: produce the record being moved again (the last try failed).
using lane_produce_atom = caf::atom_constant<caf::atom("lane_prod")>;

struct lane_state {
  // The lane is suspended: an actor handler's answer, a backoff, a due time or a
  // delivery report is awaited; wake-ups wait for it.
  bool awaiting = false;
  std::vector<runtime::header_view> headers; // reused for every record
  std::int64_t traced = -1;                  // the last record with a "received" row
  policies::record_failure failure;          // the record being retried, if any
  std::optional<outgoing_record> moving;     // to a retry topic or the DLQ, not delivered
  std::chrono::milliseconds produce_backoff{0};
  std::mt19937_64 rng{std::random_device{}()}; // backoff jitter
};

struct gate_settings;

/// Runs `h` for each record the channel holds. An exception from a function handler, or
/// an actor handler that fails or does not answer in time, ends the lane with an error
/// (a crash) for the consumer to restart it. With `idempotency` (not null), each batch's
/// keys are claimed in the store first and completed after (kafka/idempotency.hpp). A
/// failed record follows `policy`: retried in place after a backoff (a timer, not a
/// blocking wait), or moved to a retry topic or the DLQ through the producer, and
/// counted done only once the producer confirmed it. With `admission` (not null), each
/// record first needs its tenant's token and its downstream breaker's permission
/// (policies/lane_guard.hpp). With `trace` (not null), the lane writes each record's
/// journey into it (kafka/lane_trace.hpp).
caf::behavior lane_worker(caf::stateful_actor<lane_state>* self, caf::actor consumer,
                          lane_id id, std::shared_ptr<lane_channel> channel, handler h,
                          std::shared_ptr<consumer_stats> stats,
                          std::shared_ptr<partition_stats> part,
                          std::shared_ptr<const gate_settings> idempotency,
                          std::shared_ptr<const policies::lane_policy> policy,
                          std::shared_ptr<const policies::admission> admission = nullptr,
                          std::shared_ptr<persistence::trace_log> trace = nullptr);

} // namespace phoenix::kafka
