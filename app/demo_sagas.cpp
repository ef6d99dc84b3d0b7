#include "demo_sagas.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/sagas/gateway.hpp"

#include <caf/all.hpp>

namespace phoenix::app {

result<void> create_pipeline_topics(kafka::mock_cluster& cluster,
                                    const lead_pipeline::options& opts, int partitions) {
  auto topics = opts.topics.commands();
  topics.push_back(opts.topics.replies);
  for (const auto& t : topics)
    if (auto ok = cluster.create_topic(t, partitions); !ok)
      return ok;
  return {};
}

std::vector<runtime::child_spec>
pipeline_saga_children(lead_pipeline_node& node, const persistence::store_link& store) {
  auto def = lead_pipeline::lead_saga(node.options);
  sagas::relay_options ro;
  ro.store = store;
  ro.producer = [p = node.producer] { return p->get(); };
  ro.stats = node.relay_stats;
  ro.interval = std::chrono::milliseconds{200};
  runtime::child_spec relay{"outbox-relay",
                            [ro](caf::actor_system& sys) -> result<caf::actor> {
                              return sagas::spawn_outbox_relay(sys, ro);
                            }};
  sagas::coordinator_options co;
  co.store = store;
  co.relay = [r = node.relay] { return r->get(); };
  co.stats = node.stats;
  runtime::child_spec coordinator{
      "coordinator:lead",
      [def = std::move(def), co](caf::actor_system& sys) -> result<caf::actor> {
        if (!def)
          return def.error();
        return sagas::spawn_coordinator(sys, *def, co);
      }};
  return {runtime::track(std::move(relay), node.relay),
          runtime::track(std::move(coordinator), node.coordinator)};
}

std::vector<runtime::child_spec>
pipeline_kafka_children(caf::actor_system& sys, lead_pipeline_node& node,
                        const runtime::node_config& cfg,
                        const kafka::group_consumer_config& consumer) {
  const auto& t = node.options.topics;
  kafka::producer_config pcfg;
  pcfg.properties = cfg.kafka;
  pcfg.origin = cfg.origin;
  std::vector<runtime::child_spec> out;
  out.push_back(runtime::track(kafka::producer_child("producer", pcfg), node.producer));

  auto coordinator = [c = node.coordinator] { return c->get(); };
  auto saga_cfg = consumer;
  saga_cfg.properties["group.id"] = consumer.properties.at("group.id") + "-sagas";
  saga_cfg.key_concurrency = 16; // each lane waits for its record's durable transition
  sagas::connect_rebalance(saga_cfg, coordinator, t.lead_detected);
  auto gateway = sagas::spawn_gateway(sys, coordinator, t.replies, lead_pipeline::start_of);
  auto via_gateway = kafka::handler::from_actor(gateway, std::chrono::seconds{30});
  out.push_back(kafka::group_consumer_child(
      "consumer:sagas", saga_cfg,
      {{t.lead_detected, via_gateway}, {t.replies, via_gateway}},
      std::make_shared<kafka::consumer_stats>()));

  // Participants answer every delivery of a command (resends included), so their
  // consumer runs without the idempotency gate.
  auto part_cfg = consumer;
  part_cfg.properties["group.id"] = consumer.properties.at("group.id") + "-participants";
  part_cfg.idempotency = {};
  part_cfg.key_concurrency = 4;
  auto publish = [p = node.producer](const std::string& topic, const std::string& key,
                                     const runtime::envelope& env) {
    if (auto producer = p->get())
      caf::anon_send(producer, kafka::produce_atom::value,
                     kafka::outgoing_record{topic, key, env.payload,
                                            runtime::encode_headers(env), std::nullopt});
  };
  std::map<std::string, kafka::handler> handlers;
  for (const auto& topic : t.commands())
    handlers.emplace(topic, node.participants->handler(publish));
  out.push_back(kafka::group_consumer_child("consumer:participants", part_cfg,
                                            std::move(handlers),
                                            std::make_shared<kafka::consumer_stats>()));
  return out;
}

} // namespace phoenix::app
