#pragma once

#include "phoenix/observability/metrics.hpp"
#include "phoenix/sagas/coordinator.hpp"
#include "phoenix/sagas/outbox_relay.hpp"

#include <memory>
#include <string>

namespace phoenix::sagas {

/// The sagas' metrics, read from the coordinators' and the relay's stats when
/// `/metrics` is scraped, labelled `type` (the saga type):
/// - `phoenix_sagas_started_total`, `phoenix_sagas_completed_total`,
///   `phoenix_sagas_compensated_total`, `phoenix_sagas_failed_total` (ended in
///   compensation_failed: needs a person)
/// - `phoenix_sagas_in_flight`: sagas held by the coordinator, not finished
/// - `phoenix_saga_mailbox_depth`: the coordinator's mailbox, sampled per event routed and
///   again 1 s later while not empty
/// - `phoenix_saga_outbox_published_total`, `phoenix_saga_outbox_failures_total` (relay)
class saga_probe {
public:
  explicit saga_probe(observability::metrics_registry& metrics);
  ~saga_probe();

  /// Adds a coordinator's counters under `type`.
  void add(std::string type, std::shared_ptr<const saga_stats> stats);
  /// Adds the outbox relay's counters.
  void add_relay(std::shared_ptr<const relay_stats> stats);

  class collector;

private:
  std::shared_ptr<collector> collector_;
};

} // namespace phoenix::sagas
