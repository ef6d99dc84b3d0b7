#pragma once

#include "bus/bus_shared.hpp"
#include "phoenix/actors/policies/retry.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/system_messages.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace phoenix::bus {

/// The router's timers, sent by the bus actor to itself and handed to
/// `inproc_router::retry_due`: `(inproc_retry_atom, subscription id, lane, token)`.
using inproc_retry_atom = caf::atom_constant<caf::atom("bus_retry")>;

/// One record published to an in-process topic, shared by every subscription it is
/// queued for.
struct inproc_record {
  std::string key; ///< Chooses the lane, as the record key chooses a Kafka partition.
  runtime::envelope env;
  kafka::record_position pos;
};
using inproc_record_ptr = std::shared_ptr<const inproc_record>;

/// The in-process subscriptions of a bus: a queue per subscription and key lane, one
/// handler call per lane at a time, failures handled by the topic's `[policy]` as the
/// group consumer handles them (attempts with full-jitter backoff, crashes, then
/// `<topic>.dlq`, published through the bus; no retry topics). Runs inside the bus actor
/// (`self`); every handler call is a request to an actor (the subscriber's, or a worker
/// that runs a function handler), and every wait a delayed message, so a slow handler or
/// a backoff never blocks the bus or the other lanes.
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

  /// A timer of lane `lane_index` of `id` fell due: the next attempt of its front
  /// record, or the next try to publish it to the DLQ. Stale timers are ignored.
  void retry_due(subscription_id id, std::size_t lane_index, std::uint64_t token);

private:
  struct lane {
    caf::actor target; // the subscriber actor, or the worker running the function
    std::deque<inproc_record_ptr> queue;
    bool busy = false;    // a handler call (or a publish to the DLQ) is in flight
    bool waiting = false; // a timer runs for the record at the front
    bool moving = false;  // the record at the front goes to the DLQ
    // Of the record at the front: when its first attempt started, its failed attempts
    // (crashes included) and crashes, what goes into its DLQ headers.
    bool started = false;
    caf::actor_clock::time_point since;
    int attempts = 0;
    int crashes = 0;
    policies::failure_marks marks;
    std::chrono::milliseconds delay{0};        // of the next attempt (next::later)
    std::chrono::milliseconds move_backoff{0}; // between failed publishes to the DLQ
    std::uint64_t token = 0; // matches an answer or a timer to what is in flight
  };
  // What settle() decided for the record at the front of a lane.
  enum class next { finished, again, later, dead_letter };
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
  next settle(sub_state& s, lane& l, std::optional<kafka::handler_status> status,
              const caf::error& err);
  // After a failed attempt: the policy's next step (`permanent`: rejected).
  next after_failure(sub_state& s, lane& l, std::string error_class, std::string message,
                     bool permanent);
  next give_up_or_dead_letter(sub_state& s, lane& l);
  void wait(subscription_id id, std::size_t lane_index, std::chrono::milliseconds delay);
  void dead_letter(subscription_id id, std::size_t lane_index);
  void finish_front(subscription_id id, std::size_t lane_index);
  // After a lane's call or move ended: closes a closing subscription once nothing of it
  // is in flight, else runs the lane's next call.
  void go_on(subscription_id id, std::size_t lane_index);
  runtime::retry_policy policy_of(const std::string& topic) const;
  bool busy(const sub_state& s) const;
  void close(subscription_id id);
  void check_idle();

  caf::event_based_actor* self_;
  std::shared_ptr<bus_shared> shared_;
  std::map<subscription_id, sub_state> subs_;
  std::map<std::string, std::vector<subscription_id>> by_topic_;
  std::map<caf::actor_addr, std::pair<subscription_id, std::size_t>> workers_;
  std::function<void()> on_idle_;
  std::mt19937_64 rng_{std::random_device{}()}; // backoff jitter
};

} // namespace phoenix::bus
