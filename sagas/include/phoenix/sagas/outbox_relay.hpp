#pragma once

#include "phoenix/persistence/store_link.hpp"
#include "phoenix/persistence/types.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace phoenix::sagas {

/// (relay_kick_atom): rows are waiting in the outbox. Kicks that arrive while the relay
/// reads are folded into one more read.
using relay_kick_atom = caf::atom_constant<caf::atom("sg_kick")>;

struct relay_stats {
  std::atomic<std::uint64_t> published{0}; ///< Rows delivered and marked published.
  std::atomic<std::uint64_t> failures{0};  ///< Deliveries that failed (retried later).
  std::atomic<std::uint64_t> rounds{0};
};

/// The saga partitions a node owns: the partitions of its saga types' start topics
/// that its saga consumer is assigned (`connect_rebalance` keeps it). A saga's id is its
/// Kafka key, so the owner of its partition runs it, and with this its relay publishes
/// its commands. Thread-safe: consumers' threads write, the relay reads once a round.
class owned_partitions {
public:
  void assign(const std::string& topic, std::int32_t partition);
  void revoke(const std::string& topic, std::int32_t partition);
  /// Forgets every partition of `topic` (a consumer that starts again owns none yet).
  void forget(const std::string& topic);
  std::vector<persistence::saga_partition> snapshot() const;

private:
  mutable std::mutex mtx_;
  std::set<persistence::saga_partition> set_;
};

struct relay_options {
  persistence::store_link store;
  /// The actor that sends records: the producer actor's protocol,
  /// `(kafka::produce_atom, kafka::outgoing_record) -> kafka::delivery_report`.
  /// Looked up on every round, so a restarted producer is found.
  std::function<caf::actor()> producer;
  std::size_t batch = 1000; ///< Rows per round.
  /// Rounds at once: while one round's deliveries are in flight the next rows are read
  /// and sent (1: one round after the other).
  std::size_t rounds_in_flight = 2;
  std::chrono::milliseconds interval{1000}; ///< Rounds also run this often.
  std::chrono::milliseconds publish_timeout{30000};
  std::shared_ptr<relay_stats> stats = std::make_shared<relay_stats>();
  /// Whose rows to publish, when several nodes share one store: only those of sagas on
  /// these partitions (and of sagas on no partition). Null: every row (a node alone on
  /// its store, the test kit, the benchmark).
  std::shared_ptr<const owned_partitions> owned;
};

/// The outbox relay: in rounds, reads pending outbox rows (oldest first; with `owned`,
/// only those of the partitions it holds at the round's start), sends each
/// with the producer (idempotent by default) and, once delivered, marks them published
/// in one store request. A row whose delivery fails stays pending and is sent again in
/// a later round; a row sent but not yet marked when the node dies is sent again after
/// the restart, which participants absorb by command id. Up to `rounds_in_flight`
/// rounds at a time, each reading past the rows of the others, so no row is in two.
caf::actor spawn_outbox_relay(caf::actor_system& sys, relay_options opts);

} // namespace phoenix::sagas
