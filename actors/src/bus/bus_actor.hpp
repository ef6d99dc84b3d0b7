#pragma once

#include "bus/bus_shared.hpp"
#include "bus/inproc_router.hpp"
#include "bus/kafka_subscriptions.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <map>
#include <memory>

namespace phoenix::bus {

/// The topic bus (see bus_child()). Routes each publish by `[bus]` to the in-process
/// router or to the producer, and each subscription to the router or to a group
/// consumer of its own.
class bus_actor : public caf::event_based_actor {
public:
  /// `kafka_started`: the consumer supervisors the start function started for the Kafka
  /// subscriptions in `shared->subs`.
  bus_actor(caf::actor_config& cfg, std::shared_ptr<bus_shared> shared,
            std::map<subscription_id, caf::actor> kafka_started);

  const char* name() const override { return "phoenix.bus"; }
  caf::behavior make_behavior() override;
  void on_exit() override;

private:
  caf::result<receipt> publish(std::string& topic, std::string& key,
                               runtime::envelope& env);
  caf::result<receipt> publish_in_process(const std::string& topic, std::string& key,
                                          runtime::envelope env);
  caf::result<receipt> publish_kafka(const std::string& topic, std::string& key,
                                     std::vector<runtime::header> headers,
                                     std::string payload, std::string cause);
  void answer_publish(std::uint64_t token, receipt r);
  void fail_publish(std::uint64_t token, const std::string& topic, const caf::error& err);
  caf::error refuse_publish(errc code, std::string text);

  caf::result<subscription_id> subscribe(subscription& sub);
  caf::result<void> unsubscribe(subscription_id id);
  void drop(subscription_id id, std::function<void()> done);

  void on_down(const caf::down_msg& msg);
  void begin_stop(caf::error reason);
  void drain_deadline();
  void part_stopped();

  std::shared_ptr<bus_shared> shared_;
  inproc_router inproc_;
  kafka_subscriptions kafka_;
  std::map<subscription_id, caf::actor> kafka_started_;
  // Kafka publishes waiting for the producer's delivery report.
  std::map<std::uint64_t, caf::typed_response_promise<receipt>> publishing_;
  std::uint64_t next_publish_ = 0;
  bool stopping_ = false;
  bool inproc_stopped_ = false;
  int parts_running_ = 0;
  caf::error stop_reason_;
};

} // namespace phoenix::bus
