#include "phoenix/actors/kafka/group_consumer.hpp"

#include "kafka/consumer_actor.hpp"
#include "kafka/idempotency.hpp"
#include "policies/failure_path.hpp"

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>
#include <set>

namespace phoenix::kafka {

std::string to_string(const topic_partition& tp) {
  return tp.topic + "[" + std::to_string(tp.partition) + "]";
}

runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         std::map<std::string, handler> handlers,
                                         std::shared_ptr<consumer_stats> stats) {
  auto timeout = cfg.shutdown_timeout;
  // The policy topics created or found by an earlier start: a restart does not ask again.
  auto topics_done = std::make_shared<std::set<std::string>>();
  auto start = [cfg = std::move(cfg), given = std::move(handlers), stats = std::move(stats),
                topics_done](caf::actor_system& sys) -> result<caf::actor> {
    if (given.empty())
      return error{runtime::errc::invalid_argument, "group consumer without handlers"};
    if (auto idempotency = make_gate_settings(cfg); !idempotency)
      return idempotency.error();
    auto handlers = given;
    auto lane_policies = policies::add_retry_topics(cfg, handlers);
    // Before subscribing: a consumer sees a topic created later only at its next
    // metadata refresh (topic.metadata.refresh.interval.ms, 5 minutes by default).
    policies::ensure_policy_topics(cfg, lane_policies, stats->policy_topics, *topics_done);
    std::vector<std::string> topics;
    for (auto& [topic, h] : handlers)
      topics.push_back(topic);
    auto handle =
        consumer_handle::open(cfg.properties, cfg.origin, topics, cfg.commit_interval);
    if (!handle)
      return handle.error();
    return sys.spawn<consumer_actor, caf::detached>(std::move(*handle), cfg, handlers,
                                                    std::move(lane_policies), stats);
  };
  return runtime::child_spec{std::move(id), std::move(start),
                             runtime::restart_type::permanent, timeout};
}

runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         const std::vector<std::string>& topics, handler h,
                                         std::shared_ptr<consumer_stats> stats) {
  std::map<std::string, handler> handlers;
  for (auto& t : topics)
    handlers.emplace(t, h);
  return group_consumer_child(std::move(id), std::move(cfg), std::move(handlers),
                              std::move(stats));
}

} // namespace phoenix::kafka
