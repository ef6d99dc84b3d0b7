#include "phoenix/lead_pipeline/node.hpp"

#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/sagas/gateway.hpp"

#include <caf/all.hpp>

namespace phoenix::lead_pipeline {

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
pipeline_saga_children(lead_pipeline_node& node, const persistence::store_link& store,
                       std::shared_ptr<persistence::trace_log> trace) {
  auto def = lead_pipeline::lead_saga(node.options);
  sagas::relay_options ro;
  ro.store = store;
  ro.producer = [p = node.producer] { return p->get(); };
  ro.stats = node.relay_stats;
  ro.interval = std::chrono::milliseconds{200};
  ro.owned = node.owned;
  runtime::child_spec relay{"outbox-relay",
                            [ro](caf::actor_system& sys) -> result<caf::actor> {
                              return sagas::spawn_outbox_relay(sys, ro);
                            }};
  sagas::coordinator_options co;
  co.store = store;
  co.relay = [r = node.relay] { return r->get(); };
  co.stats = node.stats;
  co.trace = std::move(trace);
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

runtime::child_spec participants_child(participants& p, const topics& t,
                                       const kafka::group_consumer_config& consumer,
                                       publish_fn publish,
                                       std::shared_ptr<kafka::consumer_stats> stats) {
  // Participants answer every delivery of a command (resends included), so their
  // consumer runs without the idempotency gate.
  auto cfg = consumer;
  cfg.properties["group.id"] = consumer.properties.at("group.id") + "-participants";
  cfg.idempotency = {};
  cfg.key_concurrency = 4;
  std::map<std::string, kafka::handler> handlers;
  for (const auto& topic : t.commands()) {
    kafka::handler h = p.handler(publish);
    handlers.emplace(topic, topic == t.crm ? h.downstream("crm") : h);
  }
  return kafka::group_consumer_child("consumer:participants", cfg, std::move(handlers),
                                     std::move(stats));
}

std::vector<runtime::child_spec>
pipeline_kafka_children(lead_pipeline_node& node,
                        const kafka::group_consumer_config& consumer) {
  const auto& t = node.options.topics;
  kafka::producer_config pcfg;
  pcfg.properties = consumer.properties;
  pcfg.properties.erase("group.id");
  pcfg.properties.erase("session.timeout.ms");
  pcfg.properties.erase("max.poll.interval.ms");
  pcfg.origin = consumer.origin;
  pcfg.trace = consumer.trace; // the participants' replies join their commands' journeys
  std::vector<runtime::child_spec> out;
  if (node.own_producer)
    out.push_back(runtime::track(kafka::producer_child("producer", pcfg), node.producer));

  auto coordinator = [c = node.coordinator] { return c->get(); };
  auto saga_cfg = consumer;
  saga_cfg.properties["group.id"] = consumer.properties.at("group.id") + "-sagas";
  saga_cfg.key_concurrency = 16; // each lane waits for its record's durable transition
  // Range assignment, unless configured otherwise, gives a member the same partition
  // numbers of lead.detected and the replies (both have as many): a lead's replies come
  // to the node that runs its saga, and every member gets a share of the intake.
  // (cooperative-sticky balances the count over both topics, so one member may take all
  // of lead.detected and the other all of the replies.)
  saga_cfg.properties.emplace("partition.assignment.strategy", "range");
  if (node.prepare_consumer)
    node.prepare_consumer(saga_cfg, "consumer:sagas");
  for (auto& child : sagas::gateway_children(
           "consumer:sagas", saga_cfg, coordinator, t.lead_detected, t.replies, start_of,
           node.saga_consumer, std::chrono::seconds{30}, node.owned))
    out.push_back(std::move(child));
  if (!node.participants)
    return out;
  auto publish = [p = node.producer](const std::string& topic, const std::string& key,
                                     const runtime::envelope& env) {
    if (auto producer = p->get())
      caf::anon_send(producer, kafka::produce_atom::value,
                     kafka::outgoing_record{topic, key, env.payload,
                                            runtime::encode_headers(env), std::nullopt});
  };
  auto participants_cfg = consumer;
  if (node.prepare_consumer)
    node.prepare_consumer(participants_cfg, "consumer:participants");
  out.push_back(participants_child(*node.participants, t, participants_cfg, publish,
                                   node.participants_consumer));
  return out;
}

} // namespace phoenix::lead_pipeline
