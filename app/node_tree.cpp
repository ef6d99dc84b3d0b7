#include "node_tree.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/actors/kafka/properties.hpp"
#include "phoenix/actors/policies/redis_limiter.hpp"
#include "phoenix/actors/policies/retry.hpp"
#include "phoenix/persistence/store_actor.hpp"
#include "phoenix/runtime/logging.hpp"

#include <spdlog/spdlog.h>

namespace phoenix::app {
std::map<std::string, std::string> consumer_properties(const runtime::node_config& cfg,
                                                       bool embedded) {
  auto props = cfg.kafka;
  if (embedded) {
    props.emplace("session.timeout.ms", "6000");
    props.emplace("max.poll.interval.ms", "10000");
  }
  return props;
}

result<runtime::node_config> load_node_config(const std::string& path) {
  auto cfg =
      path.empty() ? runtime::parse_config("", "<defaults>") : runtime::load_config(path);
  if (!cfg)
    return cfg.error();
  if (auto ok = kafka::validate_properties(cfg->kafka, cfg->origin); !ok)
    return ok.error();
  if (auto ok = persistence::store_config_from(cfg->store, cfg->origin); !ok)
    return ok.error();
  if (auto ok = policies::check_in_place_bounds(
          cfg->policy, consumer_properties(*cfg, cfg->embedded_kafka()), cfg->origin);
      !ok)
    return ok.error();
  runtime::configure_logging(cfg->log, cfg->node.id);
  return cfg;
}

result<std::optional<kafka::mock_cluster>> start_embedded_kafka(runtime::node_config& cfg) {
  if (!cfg.embedded_kafka())
    return std::optional<kafka::mock_cluster>{};
  auto cluster = kafka::mock_cluster::start(cfg.embedded.brokers);
  if (!cluster)
    return cluster.error();
  cfg.kafka["bootstrap.servers"] = cluster->bootstrap_servers();
  spdlog::info("embedded mock cluster: {} brokers at {}", cfg.embedded.brokers,
               cluster->bootstrap_servers());
  return std::optional<kafka::mock_cluster>{std::move(*cluster)};
}

std::vector<runtime::child_spec> bus_children(const runtime::node_config& cfg,
                                              bool embedded, const node_handles& handles,
                                              node_services& svc) {
  svc.bus = std::make_shared<bus::bus_probe>(*svc.metrics, handles.bus_stats);
  // The Kafka subscriptions' consumers count into the bus's stats (aliasing pointer).
  svc.consumers->add("bus", std::shared_ptr<const kafka::consumer_stats>(
                                handles.bus_stats, &handles.bus_stats->kafka));
  kafka::producer_config producer;
  producer.properties = cfg.kafka;
  producer.origin = cfg.origin;
  producer.trace = svc.trace; // "produced" rows of the messages handlers publish for
  bus::bus_config bus;
  bus.routes = cfg.bus;
  bus.origin = cfg.origin;
  bus.consumer.properties = consumer_properties(cfg, embedded);
  bus.consumer.origin = cfg.origin;
  bus.consumer.admission = svc.admission;
  bus.consumer.policies = cfg.policy;
  // The embedded mock cluster creates a topic on its first use and cannot by request.
  bus.consumer.policies.topics.create = cfg.policy.topics.create && !embedded;
  bus.consumer.node_id = cfg.node.id;
  bus.consumer.trace = svc.trace;
  kafka::add_topics_readiness_check(*svc.ready, "policy_topics",
                                    {handles.bus_stats, &handles.bus_stats->kafka});
  bus.supervision = cfg.supervisor;
  std::vector<runtime::child_spec> out;
  out.push_back(
      runtime::track(kafka::producer_child("producer", producer), handles.producer));
  out.push_back(runtime::track(
      bus::bus_child("bus", bus, handles.producer, handles.bus_stats), handles.bus));
  return out;
}

result<node_services> make_node_services(const runtime::node_config& cfg, bool serve) {
  node_services svc;
  svc.metrics = std::make_shared<observability::metrics_registry>();
  svc.ready = std::make_shared<observability::readiness>();
  svc.health = std::make_shared<observability::health_state>();
  svc.consumers = std::make_shared<kafka::consumer_probe>(*svc.metrics);
  svc.sagas = std::make_shared<sagas::saga_probe>(*svc.metrics);
  svc.ready->add("store", [store = svc.store] {
    bool up = store.ready();
    return observability::check_state{up, up ? "takes writes" : store.reason()};
  });
  svc.store_probe = persistence::expose_store_metrics(*svc.metrics, svc.store);
  svc.admission = policies::make_admission(cfg);
  svc.guard = std::make_unique<policies::guard_probe>(*svc.metrics, svc.admission);
  policies::add_readiness_checks(cfg, *svc.admission, *svc.ready);
  if (auto store_cfg = persistence::store_config_from(cfg.store, cfg.origin);
      store_cfg && store_cfg->traceability) {
    svc.trace = std::make_shared<persistence::trace_log>(cfg.node.id);
    svc.trace_probe = persistence::expose_trace_metrics(*svc.metrics, svc.trace);
  }
  observability::expose_build_info(*svc.metrics,
                                   {{"librdkafka", kafka::librdkafka_version()}});
  if (serve && cfg.http.enabled) {
    auto http = observability::http_server::start(
        cfg.http, cfg.origin, {svc.health, svc.ready, svc.metrics, cfg.node.id});
    if (!http)
      return http.error();
    svc.http = std::move(*http);
  }
  return svc;
}

runtime::supervisor_spec node_tree(const runtime::node_config& cfg,
                                   const node_services& svc,
                                   std::vector<runtime::child_spec> kafka_children,
                                   std::vector<runtime::child_spec> saga_children) {
  auto sub = [&](std::string name, runtime::restart_strategy s,
                 std::vector<runtime::child_spec> children,
                 std::optional<runtime::restart_backoff> backoff = std::nullopt) {
    runtime::supervisor_spec spec;
    spec.backoff = backoff;
    spec.name = std::move(name);
    spec.strategy = s;
    spec.intensity = cfg.supervisor.intensity;
    spec.period = cfg.supervisor.period;
    spec.children = std::move(children);
    return runtime::supervisor_child(std::move(spec), cfg.node.shutdown_timeout);
  };
  auto root = runtime::supervisor_spec{};
  root.name = "node";
  root.strategy = runtime::restart_strategy::one_for_one;
  root.intensity = cfg.supervisor.intensity;
  root.period = cfg.supervisor.period;
  observability::health_monitor_options health;
  health.config = cfg.health;
  health.root_supervisor = root.name;
  root.children.push_back(
      observability::health_monitor_child(health, svc.health, svc.metrics, svc.ready));
  runtime::child_spec store_child;
  if (auto store_cfg = persistence::store_config_from(cfg.store, cfg.origin))
    store_child = persistence::store_child(std::move(*store_cfg), svc.store);
  else // only reachable without load_node_config, which checks [store] first
    store_child = {"store",
                   [err = store_cfg.error()](caf::actor_system&) -> result<caf::actor> {
                     return err;
                   }};
  std::vector<runtime::child_spec> store_children;
  store_children.push_back(std::move(store_child));
  if (svc.trace) // after the store: stops first, writing what is queued
    store_children.push_back(persistence::trace_writer_child(svc.trace, svc.store));
  root.children.push_back(
      sub("store", runtime::restart_strategy::rest_for_one, std::move(store_children)));
  if (svc.admission && svc.admission->tenants &&
      cfg.tenants.backend == runtime::limit_backend::redis)
    root.children.push_back(
        policies::redis_limiter_child("rate-limiter", svc.admission->tenants,
                                      policies::redis_limiter_config::from(cfg.tenants)));
  root.children.push_back(
      sub("sagas", runtime::restart_strategy::one_for_one, std::move(saga_children)));
  root.children.push_back(
      sub("kafka", runtime::restart_strategy::rest_for_one, std::move(kafka_children),
          cfg.supervisor.kafka_backoff)); // a Kafka client refused (ACLs) retries spaced
  return root;
}

} // namespace phoenix::app
