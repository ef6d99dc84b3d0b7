#pragma once

#include "bus/bus_shared.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace phoenix::bus {

/// One record published to an in-process topic, shared by every subscription it is
/// queued for.
struct inproc_record {
  std::string key; ///< Chooses the lane, as the record key chooses a Kafka partition.
  runtime::envelope env;
  kafka::record_position pos;
};
using inproc_record_ptr = std::shared_ptr<const inproc_record>;

/// The in-process subscriptions of a bus: a queue per subscription and key lane, one
/// handler call per lane at a time, retries and crashes counted as the group consumer
/// counts them. Runs inside the bus actor (`self`); every handler call is a request to
/// an actor (the subscriber's, or a worker that runs a function handler), so a slow
/// handler never blocks the bus.
class inproc_router {
public:
  inproc_router(caf::event_based_actor* self, std::shared_ptr<bus_shared> shared);

  /// Starts delivering records of `sub.topic` published from now on.
  void add(subscription_id id, const subscription& sub);

  /// Queues `rec` for every subscription of its topic and returns how many there are;
  /// queues nothing and returns errc::subscriber_full when one of them is at
  /// `max_pending`.
  result<std::size_t> deliver(const inproc_record_ptr& rec);

  /// Stops delivering to `id`: its queued records are dropped; `done` runs once no
  /// handler call of it is in flight (at once if none is). False for an unknown id.
  bool remove(subscription_id id, std::function<void()> done);

  bool contains(subscription_id id) const { return subs_.count(id) != 0; }

  /// Respawns a function worker that exited without being asked; false if `msg` is
  /// about no worker of the router.
  bool on_down(const caf::down_msg& msg);

  /// Runs `done` once every queue is empty and no handler call is in flight.
  void when_idle(std::function<void()> done);

  /// Drops every queued record and stops the workers; in-flight answers are ignored,
  /// and removals waiting for them are done.
  void clear();

private:
  struct lane {
    caf::actor target; // the subscriber actor, or the worker running the function
    std::deque<inproc_record_ptr> queue;
    bool busy = false;
    int attempt = 1;         // of the record at the front
    int crashes = 0;         // of the record at the front
    std::uint64_t token = 0; // matches an answer to the call in flight
  };
  struct sub_state {
    subscription spec;
    std::vector<lane> lanes;
    std::size_t pending = 0; // queued, including the records in flight
    bool closing = false;
    std::function<void()> on_closed;
  };

  caf::actor spawn_worker(const subscription& sub);
  void pump(subscription_id id, std::size_t lane_index);
  void answered(subscription_id id, std::size_t lane_index, std::uint64_t token,
                std::optional<kafka::handler_status> status, const caf::error& err);
  // True when the record at the front of `l` is finished with.
  bool settle(sub_state& s, lane& l, std::optional<kafka::handler_status> status,
              const caf::error& err);
  bool busy(const sub_state& s) const;
  void close(subscription_id id);
  void check_idle();

  caf::event_based_actor* self_;
  std::shared_ptr<bus_shared> shared_;
  std::map<subscription_id, sub_state> subs_;
  std::map<std::string, std::vector<subscription_id>> by_topic_;
  std::map<caf::actor_addr, std::pair<subscription_id, std::size_t>> workers_;
  std::function<void()> on_idle_;
};

} // namespace phoenix::bus
