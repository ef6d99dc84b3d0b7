#pragma once

#include "phoenix/persistence/store_link.hpp"
#include "phoenix/persistence/trace_log.hpp"
#include "phoenix/persistence/types.hpp"
#include "phoenix/sagas/definition.hpp"
#include "phoenix/sagas/state.hpp"
#include "phoenix/sagas/wire.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace phoenix::sagas {

// The coordinator's protocol.

/// (saga_start_atom, std::string id, std::string data, std::string topic,
/// std::int32_t partition) -> bool: true once the new saga is durable and its first
/// commands are in the outbox; false if a saga with that id exists (a duplicate start).
/// `topic`/`partition` say where the saga's events arrive, for recovery. A sixth
/// argument, std::string traceparent, gives the trace of the starting event (the saga's
/// commands continue it).
using saga_start_atom = caf::atom_constant<caf::atom("sg_start")>;
/// (saga_reply_atom, saga_reply) -> bool: true once the transition it caused is durable
/// (or it changed nothing), false if no saga of this type has that id.
using saga_reply_atom = caf::atom_constant<caf::atom("sg_reply")>;
/// (saga_recover_atom, std::string topic, std::int32_t partition) -> std::uint64_t:
/// loads the partition's unfinished sagas and resumes them (commands sent again with
/// the same ids, timers armed from their stored due times); answers how many.
using saga_recover_atom = caf::atom_constant<caf::atom("sg_recov")>;
/// (saga_revoke_atom, std::string topic, std::int32_t partition) -> std::uint64_t:
/// forgets the partition's sagas (their state is durable); answers how many.
using saga_revoke_atom = caf::atom_constant<caf::atom("sg_revoke")>;
/// (saga_count_atom) -> std::uint64_t: sagas held in memory (in flight on this node),
/// live instances and passivated ones.
using saga_count_atom = caf::atom_constant<caf::atom("sg_count")>;

/// (saga_instance_atom, std::string id) -> caf::actor: the saga's live instance actor,
/// or an invalid handle when it is passivated or unknown (for tests and inspection).
using saga_instance_atom = caf::atom_constant<caf::atom("sg_inst")>;

/// Counters of one coordinator (or of all, when shared), read by metrics and the demo.
struct saga_stats {
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> compensated{0};
  std::atomic<std::uint64_t> compensation_failed{0};
  std::atomic<std::int64_t> in_flight{0};    ///< Held in memory, not finished.
  std::atomic<std::uint64_t> transitions{0}; ///< Durable writes.
  std::atomic<std::uint64_t> store_retries{0};
  std::atomic<std::uint64_t> conflicts{0};         ///< Writes refused: another owner wrote.
  std::atomic<std::uint64_t> mailbox_depth{0};     ///< Sampled per event routed, 1 s later.
  std::atomic<std::int64_t> instances{0};          ///< Instance actors alive.
  std::atomic<std::uint64_t> passivations{0};      ///< Idle instances stopped, state kept.
  std::atomic<std::uint64_t> instance_restarts{0}; ///< Crashed instances restarted.
};

struct coordinator_options {
  persistence::store_link store;
  /// Told (relay_kick_atom) after each write that put commands in the outbox; looked
  /// up on every write, so a restarted relay is found. May return a null actor.
  std::function<caf::actor()> relay;
  /// Wall clock for the stored times (timeouts survive restarts as due times); the test
  /// kit passes virtual time.
  std::function<persistence::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
  std::shared_ptr<saga_stats> stats = std::make_shared<saga_stats>();
  /// Called on the coordinator's thread once a saga's final state is durable (for
  /// benchmarks and applications that report outcomes); keep it quick.
  std::function<void(const saga_state&)> on_finished;
  /// Wait before writing again after the store failed.
  std::chrono::milliseconds store_retry{100};
  /// An instance idle this long passivates: it stops and its compact state goes back to
  /// the coordinator (about 0.6 KiB instead of an actor's 1.2 KiB more). 1 s keeps a
  /// saga's instance across steps answered within a second (no respawn per step) and
  /// frees it soon when a step waits on something slow. 0: never passivate.
  std::chrono::milliseconds passivate_after{1000};
  /// A saga whose instance crashed more than this many times (while this coordinator holds
  /// it) is not restarted but forgotten: its state stays in the store, and a later reply
  /// or the next recovery of its partition picks it up again.
  int max_restarts = 3;
  /// Where each durable transition goes into the journey of the saga's id (the id of
  /// the message that started it): stage `saga:<status>`, with what caused it and the
  /// commands it sent (`phoenix trace <id>`). Null: none written.
  std::shared_ptr<persistence::trace_log> trace;
};

/// The coordinator of one saga type: routes starts, replies, timers and local outcomes
/// to one instance actor per in-flight saga (keyed by saga id), spawning it on demand.
/// The instance runs the state machine and writes each transition with its outgoing
/// commands in one store request (group-committed with other sagas' transitions by the
/// store actor), then acts on it: kicks the relay, makes local calls, arms the next
/// timer; one transition per saga at a time, later events wait in order. An instance
/// idle for `passivate_after` stops and leaves its compact `saga_state` with the
/// coordinator (an idle saga costs its state, no actor). Instances are linked to the
/// coordinator: one that crashes is restarted from the store and resends what its steps
/// wait for (same command ids). A reply for a saga it does not hold is looked up in the
/// store (it may have been started before a restart).
caf::actor spawn_coordinator(caf::actor_system& sys, saga_definition def,
                             coordinator_options opts);

} // namespace phoenix::sagas

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::sagas::saga_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::sagas::outcome)
