#pragma once

#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/supervisor.hpp"
#include "phoenix/sagas/outbox_relay.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::sagas {

/// What starts a saga: its id (the event's Kafka key, so the saga's events share a
/// partition) and its input. nullopt: the event starts no saga.
struct saga_start {
  std::string id;
  std::string data;
};
using start_fn = std::function<std::optional<saga_start>(const runtime::envelope&)>;

/// An actor handler (`kafka::handler::from_actor`) that connects a coordinator to a
/// group consumer: records of `reply_topic` are replies, any other topic's records
/// start sagas through `start`. It answers the consumer `done` only once the
/// coordinator stored what the record caused, so a committed offset never loses a
/// start or a reply; a duplicate start or a stale reply is `done` too. An undecodable
/// reply is `rejected`; a store that does not answer, or no coordinator (looked up per
/// record, as the supervisor may have restarted it), makes it `retry`.
caf::actor spawn_gateway(caf::actor_system& sys, std::function<caf::actor()> coordinator,
                         std::string reply_topic, start_fn start);

/// The gateway and the consumer that feeds it, as two children for a `rest_for_one`
/// supervisor, in this order (the gateway first; children started after them, such as
/// another consumer, may follow). The gateway is supervised like any child: the consumer
/// names the gateway it finds when it starts, so when the gateway crashes and is
/// restarted, `rest_for_one` restarts the consumer after it, which then names the new
/// one (its uncommitted records are read again: the coordinator absorbs duplicates).
/// The consumer (`consumer_id`) reads `start_topic` and `reply_topic`; `cfg` gets the
/// rebalance hooks of `connect_rebalance`. A record the gateway does not answer within
/// `timeout` counts as a crash of the record. With `owned`, the partitions of
/// `start_topic` the consumer holds are kept there (for the node's outbox relay); each
/// start of the consumer begins with none.
std::vector<runtime::child_spec>
gateway_children(std::string consumer_id, kafka::group_consumer_config cfg,
                 std::function<caf::actor()> coordinator, std::string start_topic,
                 std::string reply_topic, start_fn start,
                 std::shared_ptr<kafka::consumer_stats> stats,
                 std::chrono::milliseconds timeout = std::chrono::seconds{30},
                 std::shared_ptr<owned_partitions> owned = nullptr);

/// Adds to `cfg`'s rebalance hooks: on assignment of a partition of `start_topic` the
/// coordinator recovers that partition's unfinished sagas; on revoke it forgets them.
/// The start topic and the reply topic need the same partition count (both keyed by
/// saga id), so one member owns a saga's start and its replies. With `owned`, the
/// partition joins it before the recovery and leaves it on revoke (also when lost), so
/// the node's relay publishes the outbox rows of exactly the sagas the node owns.
void connect_rebalance(kafka::group_consumer_config& cfg,
                       std::function<caf::actor()> coordinator, std::string start_topic,
                       std::shared_ptr<owned_partitions> owned = nullptr);

} // namespace phoenix::sagas
