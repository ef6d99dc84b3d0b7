#pragma once

#include "bus/bus_shared.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>
#include <functional>
#include <map>

namespace phoenix::bus {

/// Starts the group consumer of one Kafka subscription (`kafka::group_consumer_child`,
/// with `group.id` and `key_concurrency` from `sub`) under a supervisor of its own, and
/// returns that supervisor.
///
/// Errors: errc::subscribe_failed naming the subscription and the consumer's error.
result<caf::actor> start_kafka_subscription(caf::actor_system& sys,
                                            const bus_shared& shared,
                                            const subscription& sub);

/// The Kafka subscriptions of a running bus: the supervisor of each one's consumer,
/// monitored by the bus.
class kafka_subscriptions {
public:
  explicit kafka_subscriptions(caf::event_based_actor* self) : self_(self) {}

  /// Takes over `supervisor`, started for subscription `id`.
  void adopt(subscription_id id, caf::actor supervisor);

  bool contains(subscription_id id) const { return running_.count(id) != 0; }

  /// Stops the consumer of `id` (it drains, commits and leaves the group); `done` runs
  /// once its supervisor is down. False for an unknown id.
  bool remove(subscription_id id, std::function<void()> done);

  /// Stops every consumer; `done` runs once all are down (at once if none runs).
  void stop_all(std::function<void()> done);

  /// Kills what still runs (the bus itself is ending without an orderly stop) and
  /// completes the removals that were waiting.
  void kill_all();

  enum class down_kind { not_ours, asked, unexpected };

  /// Classifies a down message; an unexpected one means that a subscription's
  /// supervisor gave up (restart intensity), and names it in `which`.
  down_kind on_down(const caf::down_msg& msg, subscription_id& which);

private:
  struct entry {
    caf::actor supervisor;
    std::function<void()> on_down; // set once a stop was asked
  };

  void check_all_down();

  caf::event_based_actor* self_;
  std::map<subscription_id, entry> running_;
  std::function<void()> on_all_down_;
};

} // namespace phoenix::bus
