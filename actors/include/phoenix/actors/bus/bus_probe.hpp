#pragma once

#include "phoenix/actors/bus/bus.hpp"
#include "phoenix/observability/metrics.hpp"

#include <memory>

namespace phoenix::bus {

/// The topic bus's metrics, read from its `bus_stats` when `/metrics` is scraped:
/// - `phoenix_bus_published_total`, `phoenix_bus_publish_errors_total`
/// - `phoenix_bus_in_process_records_total{outcome}`: in-process subscriptions' records,
///   `outcome` one of handled, retried, rejected, dropped, unheard
/// - `phoenix_bus_handler_crashes_total`: in-process handlers that threw or failed
/// The group consumers of Kafka subscriptions are `stats->kafka`; give them to a
/// `kafka::consumer_probe` (the node labels them `consumer="bus"`).
class bus_probe {
public:
  bus_probe(observability::metrics_registry& metrics,
            std::shared_ptr<const bus_stats> stats);
  ~bus_probe();

  class collector;

private:
  std::shared_ptr<collector> collector_;
};

} // namespace phoenix::bus
