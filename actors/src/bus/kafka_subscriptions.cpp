#include "bus/kafka_subscriptions.hpp"

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace phoenix::bus {

result<caf::actor> start_kafka_subscription(caf::actor_system& sys,
                                            const bus_shared& shared,
                                            const subscription& sub) {
  auto cfg = shared.cfg.consumer;
  cfg.properties["group.id"] = sub.group;
  cfg.key_concurrency = sub.key_concurrency;
  cfg.origin = shared.cfg.origin;
  cfg.producer = shared.producer; // moves failed records to retry topics and the DLQ
  // The aliasing constructor shares ownership of the bus's counters.
  std::shared_ptr<kafka::consumer_stats> stats{shared.stats, &shared.stats->kafka};
  runtime::supervisor_spec spec;
  spec.name = "bus:" + name_of(sub);
  spec.strategy = runtime::restart_strategy::one_for_one;
  spec.intensity = shared.cfg.supervision.intensity;
  spec.period = shared.cfg.supervision.period;
  spec.backoff = shared.cfg.supervision.kafka_backoff;
  spec.children.push_back(kafka::group_consumer_child(
      "consumer:" + name_of(sub), std::move(cfg), {sub.topic}, sub.handler, stats));
  auto started = runtime::start_supervisor(sys, std::move(spec));
  if (!started)
    return phoenix::error{errc::subscribe_failed,
                          "subscribe " + name_of(sub) + ": " + started.error().message()};
  return started;
}

void kafka_subscriptions::adopt(subscription_id id, caf::actor supervisor) {
  self_->monitor(supervisor);
  running_[id] = entry{std::move(supervisor), nullptr};
}

bool kafka_subscriptions::remove(subscription_id id, std::function<void()> done) {
  auto it = running_.find(id);
  if (it == running_.end() || it->second.on_down)
    return false;
  it->second.on_down = std::move(done);
  self_->send_exit(it->second.supervisor, caf::exit_reason::user_shutdown);
  return true;
}

void kafka_subscriptions::stop_all(std::function<void()> done) {
  on_all_down_ = std::move(done);
  for (auto& [id, e] : running_) {
    if (!e.on_down) {
      e.on_down = [] {};
      self_->send_exit(e.supervisor, caf::exit_reason::user_shutdown);
    }
  }
  check_all_down();
}

void kafka_subscriptions::kill_all() {
  auto running = std::move(running_);
  running_.clear();
  for (auto& [id, e] : running) {
    caf::anon_send_exit(e.supervisor, caf::exit_reason::kill);
    if (e.on_down)
      e.on_down();
  }
}

kafka_subscriptions::down_kind kafka_subscriptions::on_down(const caf::down_msg& msg,
                                                            subscription_id& which) {
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    if (it->second.supervisor.address() != msg.source)
      continue;
    which = it->first;
    auto done = std::move(it->second.on_down);
    running_.erase(it);
    if (!done)
      return down_kind::unexpected;
    done();
    check_all_down();
    return down_kind::asked;
  }
  return down_kind::not_ours;
}

void kafka_subscriptions::check_all_down() {
  if (on_all_down_ && running_.empty()) {
    auto done = std::move(on_all_down_);
    on_all_down_ = nullptr;
    done();
  }
}

} // namespace phoenix::bus
