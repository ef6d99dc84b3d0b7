#pragma once

#include "phoenix/actors/bus/bus.hpp"

#include <map>
#include <memory>
#include <string>

namespace phoenix::bus {

/// What outlives an incarnation of the bus actor: its configuration, its subscriptions
/// and the in-process sequence numbers. Only the running incarnation touches it (a
/// restart starts after the previous incarnation has exited).
struct bus_shared {
  bus_config cfg;
  std::shared_ptr<const runtime::actor_slot> producer;
  std::shared_ptr<bus_stats> stats;
  std::uint64_t next_id = 1;
  std::map<subscription_id, subscription> subs;
  std::map<std::string, std::int64_t> next_sequence; ///< Per in-process topic.
};

/// Why `sub` cannot be added to the bus: a bus errc naming the topic and group, or an
/// empty error when it can.
phoenix::error check_subscription(const bus_shared& shared, const subscription& sub);

/// The bus error `err` as a CAF error.
caf::error to_caf(const phoenix::error& err);

/// "<topic>/<group>", how logs and errors name a subscription.
std::string name_of(const subscription& sub);

} // namespace phoenix::bus
