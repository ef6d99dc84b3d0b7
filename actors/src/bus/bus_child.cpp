// bus_child(): validates the bus's configuration and starts its actor together with the
// group consumers of its Kafka subscriptions; the checks a subscription must pass.

#include "bus/bus_actor.hpp"
#include "bus/kafka_subscriptions.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace phoenix::bus {
namespace {

constexpr std::size_t max_key_concurrency = 256;

} // namespace

std::string name_of(const subscription& sub) {
  return sub.topic + "/" + sub.group;
}

caf::error to_caf(const phoenix::error& err) {
  return make_caf_error(static_cast<errc>(err.code().value()), err.message());
}

phoenix::error check_subscription(const bus_shared& shared, const subscription& sub) {
  auto refuse = [&](errc code, const std::string& why) {
    return phoenix::error{code, "subscribe " + name_of(sub) + ": " + why};
  };
  if (auto problem = runtime::topic_name_problem(sub.topic))
    return refuse(errc::invalid_argument, *problem);
  if (!shared.cfg.routes.route_of(sub.topic))
    return refuse(errc::unknown_topic,
                  "the topic is in no [bus] list and [bus] default is none");
  if (sub.group.empty())
    return refuse(errc::invalid_argument, "the group must not be empty");
  if (!sub.handler.function() && !sub.handler.actor())
    return refuse(errc::invalid_argument,
                  "the handler has neither a function nor an actor");
  if (sub.key_concurrency < 1 || sub.key_concurrency > max_key_concurrency)
    return refuse(errc::invalid_argument,
                  "key_concurrency must be 1 to " + std::to_string(max_key_concurrency) +
                      ", got " + std::to_string(sub.key_concurrency));
  for (auto& [id, other] : shared.subs)
    if (other.topic == sub.topic && other.group == sub.group)
      return refuse(errc::already_subscribed, "subscription #" + std::to_string(id.value) +
                                                  " has that topic and group");
  return {};
}

runtime::child_spec bus_child(std::string id, bus_config cfg,
                              std::shared_ptr<const runtime::actor_slot> producer,
                              std::shared_ptr<bus_stats> stats) {
  auto shared = std::make_shared<bus_shared>();
  auto initial = std::move(cfg.subscriptions);
  cfg.subscriptions.clear();
  shared->cfg = std::move(cfg);
  shared->producer = std::move(producer);
  shared->stats = stats ? std::move(stats) : std::make_shared<bus_stats>();
  // The orderly stop: in-process drain and Kafka consumers' stops run at once, then the
  // last publishes wait for their delivery reports.
  auto timeout =
      std::max(shared->cfg.consumer.drain_timeout, shared->cfg.consumer.shutdown_timeout) +
      shared->cfg.publish_timeout + std::chrono::seconds{5};
  auto start = [shared, initial = std::move(initial),
                added = std::make_shared<bool>(false)](
                   caf::actor_system& sys) -> result<caf::actor> {
    if (auto ok = runtime::validate_bus_routes(shared->cfg.routes, shared->cfg.origin); !ok)
      return ok.error();
    if (!*added) {
      *added = true;
      for (const auto& sub : initial) {
        if (auto refused = check_subscription(*shared, sub))
          return refused;
        shared->subs.emplace(subscription_id{shared->next_id++}, sub);
      }
    }
    // Kafka subscriptions start here, so that one that cannot start fails the start.
    std::map<subscription_id, caf::actor> started;
    for (const auto& [sid, sub] : shared->subs) {
      if (shared->cfg.routes.route_of(sub.topic) != runtime::topic_route::kafka)
        continue;
      auto supervisor = start_kafka_subscription(sys, *shared, sub);
      if (!supervisor) {
        for (auto& [_, s] : started)
          caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
        return supervisor.error();
      }
      started.emplace(sid, *supervisor);
    }
    return sys.spawn<bus_actor>(shared, std::move(started));
  };
  return runtime::child_spec{std::move(id), std::move(start),
                             runtime::restart_type::permanent, timeout};
}

} // namespace phoenix::bus
