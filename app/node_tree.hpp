#pragma once

#include "phoenix/actors/bus/bus.hpp"
#include "phoenix/actors/bus/bus_probe.hpp"
#include "phoenix/actors/kafka/consumer_probe.hpp"
#include "phoenix/actors/kafka/mock_cluster.hpp"
#include "phoenix/actors/policies/admission.hpp"
#include "phoenix/actors/policies/guard_probe.hpp"
#include "phoenix/observability/health_monitor.hpp"
#include "phoenix/observability/http_server.hpp"
#include "phoenix/observability/metrics.hpp"
#include "phoenix/observability/readiness.hpp"
#include "phoenix/persistence/store_link.hpp"
#include "phoenix/persistence/trace_log.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/supervisor.hpp"
#include "phoenix/sagas/saga_probe.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace phoenix::app {

/// Loads the config (or the defaults when `path` is empty), validates `[kafka]` with
/// librdkafka and `[store]` with the persistence module, and sets up logging. Errors
/// name the file and the key.
result<runtime::node_config> load_node_config(const std::string& path);

/// The node's consumers' librdkafka properties: `[kafka]`, and on the embedded cluster
/// short group timeouts (the mock cluster's group coordinator waits
/// max.poll.interval.ms for rejoins).
std::map<std::string, std::string> consumer_properties(const runtime::node_config& cfg,
                                                       bool embedded);

/// The embedded mock cluster when no broker is configured: started with
/// `[embedded] brokers`, and `bootstrap.servers` set to it in `cfg.kafka`.
result<std::optional<kafka::mock_cluster>> start_embedded_kafka(runtime::node_config& cfg);

/// What a node reports into and serves: metrics (with every module's probe), readiness
/// checks, the health monitor's state, and the HTTP listener when one is asked for.
struct node_services {
  std::shared_ptr<observability::metrics_registry> metrics;
  std::shared_ptr<observability::readiness> ready;
  std::shared_ptr<observability::health_state> health;
  std::shared_ptr<kafka::consumer_probe> consumers;
  std::shared_ptr<bus::bus_probe> bus;      ///< Set by `bus_children`.
  std::shared_ptr<sagas::saga_probe> sagas; ///< Coordinators and relays add their stats.
  /// Breakers and tenant rate limits (`[breaker."..."]`, `[tenants]`), for every
  /// consumer of the node; the readiness checks `breaker:<name>` of required ones.
  std::shared_ptr<policies::admission> admission;
  std::unique_ptr<policies::guard_probe> guard;
  std::unique_ptr<observability::http_server> http; ///< Null when not serving.
  /// The store actor's current incarnation and whether it takes writes: handed to every
  /// consumer (idempotency), and the readiness check `store`.
  persistence::store_link store;
  /// Where the pipelines put the journeys of messages (`[store] traceability`); null
  /// when it is off. Its writer runs under the store supervisor.
  std::shared_ptr<persistence::trace_log> trace;
  std::shared_ptr<void> trace_probe; ///< Keeps the trace log's metrics in /metrics.
  std::shared_ptr<void> store_probe; ///< Keeps the store's batch metrics in /metrics.
};

/// Makes the node's services; with `serve` and `[http]` enabled, starts the listener.
/// Errors: the listener's (`<file>: [http] <key>: ...`).
result<node_services> make_node_services(const runtime::node_config& cfg, bool serve);

/// Where code outside the supervision tree finds the node's producer and topic bus
/// (their current incarnations), and the bus's counters.
struct node_handles {
  std::shared_ptr<runtime::actor_slot> producer = std::make_shared<runtime::actor_slot>();
  std::shared_ptr<runtime::actor_slot> bus = std::make_shared<runtime::actor_slot>();
  std::shared_ptr<bus::bus_stats> bus_stats = std::make_shared<bus::bus_stats>();
};

/// The producer and the topic bus (`[bus]`), in this order, for the kafka supervisor:
/// the bus stops first, so its subscribers can publish while they drain. `embedded`:
/// the mock cluster, whose group coordinator needs short session timeouts. Adds the
/// bus's metrics and its Kafka subscriptions' consumer metrics (`consumer="bus"`) to
/// `svc`.
std::vector<runtime::child_spec> bus_children(const runtime::node_config& cfg,
                                              bool embedded, const node_handles& handles,
                                              node_services& svc);

/// The node's supervision tree (DESIGN.md §4): health monitor (first, so it hears the
/// others start), store (the store actor of `[store]`, attached to `svc.store` on every
/// start), sagas (coordinators and outbox relay), kafka (the given consumers). The store
/// starts before the others and stops after them; a store that cannot open fails the
/// start (exit code 2) with `file: [store] key: ...`. Sagas start before the consumers
/// that feed them and stop after those drained, so no start or reply meets a stopped
/// coordinator. With `[tenants] backend = "redis"` the Redis limiter actor starts after
/// the store, before the consumers.
runtime::supervisor_spec node_tree(const runtime::node_config& cfg,
                                   const node_services& svc,
                                   std::vector<runtime::child_spec> kafka_children,
                                   std::vector<runtime::child_spec> saga_children = {});

} // namespace phoenix::app
