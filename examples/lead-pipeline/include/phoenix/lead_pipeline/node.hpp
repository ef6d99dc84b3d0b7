#pragma once

#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/actors/kafka/mock_cluster.hpp"
#include "phoenix/lead_pipeline/lead_pipeline.hpp"
#include "phoenix/persistence/store_link.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "phoenix/runtime/supervisor.hpp"
#include "phoenix/sagas/coordinator.hpp"
#include "phoenix/sagas/outbox_relay.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace phoenix::lead_pipeline {

/// The lead pipeline as a node runs it (DESIGN.md §9): its coordinator and outbox relay
/// (the sagas supervisor's children), the producer they and the participants send with,
/// and two consumers: the saga's (lead.detected and the replies, through the gateway)
/// and the participants' (the command topics).
struct lead_pipeline_node {
  lead_pipeline::options options;
  std::shared_ptr<sagas::saga_stats> stats = std::make_shared<sagas::saga_stats>();
  std::shared_ptr<sagas::relay_stats> relay_stats = std::make_shared<sagas::relay_stats>();
  /// The participants, when this node runs them (the demo); null: they run elsewhere.
  std::shared_ptr<lead_pipeline::participants> participants;
  /// The counters of the saga consumer and the participants' consumer (for metrics).
  std::shared_ptr<kafka::consumer_stats> saga_consumer =
      std::make_shared<kafka::consumer_stats>();
  std::shared_ptr<kafka::consumer_stats> participants_consumer =
      std::make_shared<kafka::consumer_stats>();
  /// Called with each consumer's config and child id ("consumer:sagas",
  /// "consumer:participants") before its child is made: a node adds readiness checks.
  std::function<void(kafka::group_consumer_config&, const std::string&)> prepare_consumer;
  std::shared_ptr<runtime::actor_slot> coordinator =
      std::make_shared<runtime::actor_slot>();
  std::shared_ptr<runtime::actor_slot> relay = std::make_shared<runtime::actor_slot>();
  /// The partitions of lead.detected the saga consumer holds: the relay publishes only
  /// the outbox rows of those sagas, so nodes sharing one store each publish their own.
  std::shared_ptr<sagas::owned_partitions> owned =
      std::make_shared<sagas::owned_partitions>();
  std::shared_ptr<runtime::actor_slot> producer = std::make_shared<runtime::actor_slot>();
  /// False: `producer` is the node's (tracked by its own child elsewhere), and
  /// pipeline_kafka_children makes no producer child.
  bool own_producer = true;

  /// Sagas that reached a final state.
  std::uint64_t finished() const {
    return stats->completed + stats->compensated + stats->compensation_failed;
  }
};

/// Creates the command and reply topics on the embedded cluster with `partitions` each
/// (as many as lead.detected, so a lead's replies share its partition number).
result<void> create_pipeline_topics(kafka::mock_cluster& cluster,
                                    const lead_pipeline::options& opts, int partitions);

/// The sagas supervisor's children: relay, then coordinator. With `trace`, the
/// coordinator writes each saga's transitions into the journey of its lead.
std::vector<runtime::child_spec>
pipeline_saga_children(lead_pipeline_node& node, const persistence::store_link& store,
                       std::shared_ptr<persistence::trace_log> trace = nullptr);

/// The kafka supervisor's children (for a `rest_for_one` supervisor): the producer
/// (properties from `consumer`; none
/// without `node.own_producer`), the saga gateway and the saga consumer (group
/// `<group>-sagas`, `sagas::gateway_children`) and, with `node.participants`, the
/// participants' consumer (`<group>-participants`). `consumer` is the template
/// (properties with `group.id`, origin, store link).
std::vector<runtime::child_spec>
pipeline_kafka_children(lead_pipeline_node& node,
                        const kafka::group_consumer_config& consumer);

/// The participants' consumer alone (group `<group>-participants`), for running them
/// apart from the saga's node; replies go out through `publish`. The CRM's handler names
/// the downstream "crm", so `[breaker."crm"]` guards it.
runtime::child_spec participants_child(participants& p, const topics& t,
                                       const kafka::group_consumer_config& consumer,
                                       publish_fn publish,
                                       std::shared_ptr<kafka::consumer_stats> stats =
                                           std::make_shared<kafka::consumer_stats>());

} // namespace phoenix::lead_pipeline
