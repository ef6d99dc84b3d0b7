#pragma once

#include "phoenix/actors/bus/error.hpp"
#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

// The topic bus: actors publish and subscribe by topic name; `[bus]` decides per topic
// whether records go through Kafka or stay in the process. Publishers and subscribers
// see the same API, the same envelopes and the same handler contract either way.

namespace phoenix::bus {

/// The partition an in-process record reports in its record_position and receipt; its
/// offset is the topic's sequence number in this process (0, 1, 2, ... since the node
/// started, not persisted).
inline constexpr std::int32_t in_process_partition = -1;

/// Names one subscription of one bus.
struct subscription_id {
  std::uint64_t value = 0;

  friend bool operator==(subscription_id a, subscription_id b) {
    return a.value == b.value;
  }
  friend bool operator<(subscription_id a, subscription_id b) { return a.value < b.value; }
};

/// What a subscriber asks for: every record of `topic`, handed to `handler` (a function
/// or an actor, as for the group consumer) decoded, with its position. Records of one
/// key reach the handler one at a time, in publish order.
struct subscription {
  std::string topic;
  /// Kafka: the consumer group (nodes subscribing with the same group share the
  /// topic's partitions; each group sees every record). In-process: the
  /// subscription's name. A bus has at most one subscription per (topic, group).
  std::string group;
  kafka::handler handler;
  /// Records of different keys handled at once (1 to 256); records of one key stay in
  /// order. Kafka: the group consumer's lanes per partition; in-process: lanes of the
  /// subscription.
  std::size_t key_concurrency = 1;
};

/// Answer to a publish: where the record went. Kafka: the producer's delivery report
/// (the brokers stored it). In-process: `in_process_partition` and the topic's sequence
/// number; the record is queued for every subscription the topic has.
struct receipt {
  std::string topic;
  runtime::topic_route route = runtime::topic_route::kafka;
  std::int32_t partition = in_process_partition;
  std::int64_t offset = -1;
};

/// Counters of a bus, readable from any thread. The in-process counters count handler
/// outcomes of in-process subscriptions; `kafka` is shared by the group consumers of
/// Kafka subscriptions.
struct bus_stats {
  std::atomic<std::uint64_t> published{0};      ///< Records accepted (both routes).
  std::atomic<std::uint64_t> publish_errors{0}; ///< Publishes answered with an error.
  std::atomic<std::uint64_t> handled{0};        ///< In-process: handler said done.
  std::atomic<std::uint64_t> retried{0};  ///< In-process: attempts in place scheduled.
  std::atomic<std::uint64_t> rejected{0}; ///< In-process: given up (no DLQ).
  /// In-process: published to `<topic>.dlq` after the topic's policy gave up on them.
  std::atomic<std::uint64_t> dead_lettered{0};
  std::atomic<std::uint64_t> crashes{0}; ///< In-process: handler threw or failed.
  std::atomic<std::uint64_t> dropped{
      0}; ///< In-process: queued, dropped on unsubscribe/stop.
  std::atomic<std::uint64_t> unheard{0}; ///< In-process: published to no subscription.
  kafka::consumer_stats kafka;
};

struct bus_config {
  /// Routing, `max_pending` (in-process bound); usually `node_config::bus`.
  runtime::bus_routes routes;
  std::string origin = "<config>"; ///< Names the config source in error messages.
  /// Template of the group consumer of every Kafka subscription: `properties` (the
  /// node's `[kafka]`), commit interval, in-flight bound, drain timeout, ...; the bus
  /// sets `group.id` and `key_concurrency` from the subscription. In-process
  /// subscriptions use its `max_crashes_per_record` and `drain_timeout` too.
  kafka::group_consumer_config consumer;
  /// Restart intensity of each Kafka subscription's consumer supervisor.
  runtime::supervision_config supervision;
  /// How long a Kafka publish waits for the producer's delivery report.
  std::chrono::milliseconds publish_timeout{30000};
  /// Started with the bus: a subscription that cannot start fails the bus's start.
  std::vector<subscription> subscriptions;
};

/// `(publish_atom, std::string topic, std::string key, runtime::envelope)` → `receipt`,
/// or a bus error (unknown_topic, invalid_argument, invalid_envelope, subscriber_full,
/// delivery_failed, producer_unavailable).
using publish_atom = caf::atom_constant<caf::atom("bus_pub")>;
/// `(subscribe_atom, subscription)` → `subscription_id`, once the subscription is
/// running (Kafka: its group consumer has started; it joins the group asynchronously),
/// or a bus error (unknown_topic, invalid_argument, already_subscribed,
/// subscribe_failed, stopping).
using subscribe_atom = caf::atom_constant<caf::atom("bus_sub")>;
/// `(unsubscribe_atom, subscription_id)` → an empty reply once no handler call of the
/// subscription runs any more (Kafka: its consumer has drained, committed and left the
/// group), or errc::unknown_subscription.
using unsubscribe_atom = caf::atom_constant<caf::atom("bus_unsub")>;

/// The bus actor as a supervised child (put it in the node's kafka supervisor after the
/// producer, so it stops before the producer and its subscribers can still publish
/// while they drain).
///
/// Kafka topics are published through the actor in `producer` (the node's
/// `kafka::producer_child`, tracked with `runtime::track`) and subscribed through one
/// `kafka::group_consumer_child` per subscription, under its own supervisor. In-process
/// topics are queued per subscription and key lane inside the bus and handed to the
/// handler one record per lane at a time. Subscriptions outlive restarts of the bus. An
/// actor handler that terminates is unsubscribed. On an exit request the bus stops
/// taking subscriptions, lets in-process subscriptions work off their queues for up to
/// `consumer.drain_timeout` (then drops the rest), stops the Kafka subscriptions (they
/// drain and commit), and exits; a Kafka subscription whose supervisor fails makes the
/// bus fail, so that its own supervisor restarts it with every subscription.
///
/// Errors (from the start function): errc::config_bad_value naming `<origin>: [bus]
/// <key>` for a bad routing; the bus errc of a subscription in `subscriptions` that is
/// refused or cannot start.
runtime::child_spec bus_child(std::string id, bus_config cfg,
                              std::shared_ptr<const runtime::actor_slot> producer,
                              std::shared_ptr<bus_stats> stats);

/// Publishes from outside actors (tools, tests): sends the request and waits for the
/// answer, at most `timeout`. Errors: the bus errc of the answer; errc::no_answer after
/// the timeout or when the bus is not running.
result<receipt> publish_sync(caf::actor_system& sys, const caf::actor& bus,
                             std::string topic, std::string key, runtime::envelope env,
                             std::chrono::milliseconds timeout);

/// Subscribes from outside actors; see subscribe_atom.
result<subscription_id> subscribe_sync(caf::actor_system& sys, const caf::actor& bus,
                                       subscription sub, std::chrono::milliseconds timeout);

/// Unsubscribes from outside actors; see unsubscribe_atom.
result<void> unsubscribe_sync(caf::actor_system& sys, const caf::actor& bus,
                              subscription_id id, std::chrono::milliseconds timeout);

} // namespace phoenix::bus

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::bus::subscription_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::bus::subscription)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::bus::receipt)
