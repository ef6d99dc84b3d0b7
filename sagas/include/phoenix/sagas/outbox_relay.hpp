#pragma once

#include "phoenix/persistence/store_link.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace phoenix::sagas {

/// (relay_kick_atom): rows are waiting in the outbox. Kicks that arrive while a round
/// runs are folded into one more round.
using relay_kick_atom = caf::atom_constant<caf::atom("sg_kick")>;

struct relay_stats {
  std::atomic<std::uint64_t> published{0}; ///< Rows delivered and marked published.
  std::atomic<std::uint64_t> failures{0};  ///< Deliveries that failed (retried later).
  std::atomic<std::uint64_t> rounds{0};
};

struct relay_options {
  persistence::store_link store;
  /// The actor that sends records: the producer actor's protocol,
  /// `(kafka::produce_atom, kafka::outgoing_record) -> kafka::delivery_report`.
  /// Looked up on every round, so a restarted producer is found.
  std::function<caf::actor()> producer;
  std::size_t batch = 1000;                 ///< Rows per round.
  std::chrono::milliseconds interval{1000}; ///< Rounds also run this often.
  std::chrono::milliseconds publish_timeout{30000};
  std::shared_ptr<relay_stats> stats = std::make_shared<relay_stats>();
};

/// The outbox relay: in rounds, reads pending outbox rows (oldest first), sends each
/// with the producer (idempotent by default) and, once delivered, marks them published
/// in one store request. A row whose delivery fails stays pending and is sent again in
/// a later round; a row sent but not yet marked when the node dies is sent again after
/// the restart, which participants absorb by command id. One round at a time.
caf::actor spawn_outbox_relay(caf::actor_system& sys, relay_options opts);

} // namespace phoenix::sagas
