#include "phoenix/sagas/gateway.hpp"

#include "phoenix/runtime/actor_error.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "phoenix/sagas/coordinator.hpp"
#include "phoenix/sagas/wire.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::sagas {
namespace {

using kafka::handler_status;

caf::behavior gateway(caf::event_based_actor* self, std::function<caf::actor()> coordinator,
                      std::string reply_topic, start_fn start) {
  runtime::crash_on_exception(self);
  return {[=](kafka::handle_atom, const runtime::envelope& ev,
              const kafka::record_position& pos) -> caf::result<handler_status> {
    auto coord = coordinator();
    if (!coord)
      return handler_status::retry;
    auto rp = self->make_response_promise<handler_status>();
    auto on_ok = [rp](bool) mutable { rp.deliver(handler_status::done); };
    auto on_err = [rp, pos](const caf::error& e) mutable {
      spdlog::warn("saga gateway: {} [{}] @{}: {}", pos.topic, pos.partition, pos.offset,
                   runtime::describe(e));
      rp.deliver(handler_status::retry);
    };
    if (pos.topic == reply_topic) {
      auto r = read_reply(ev);
      if (!r) {
        spdlog::error("saga gateway: {} [{}] @{}: {}", pos.topic, pos.partition, pos.offset,
                      r.error().message());
        return handler_status::rejected;
      }
      self->request(coord, caf::infinite, saga_reply_atom::value, std::move(*r))
          .then(on_ok, on_err);
      return rp;
    }
    auto s = start(ev);
    if (!s)
      return handler_status::done;
    self->request(coord, caf::infinite, saga_start_atom::value, std::move(s->id),
                  std::move(s->data), pos.topic, pos.partition,
                  ev.trace ? ev.trace->to_header() : std::string{})
        .then(on_ok, on_err);
    return rp;
  }};
}

} // namespace

caf::actor spawn_gateway(caf::actor_system& sys, std::function<caf::actor()> coordinator,
                         std::string reply_topic, start_fn start) {
  return sys.spawn(gateway, std::move(coordinator), std::move(reply_topic),
                   std::move(start));
}

std::vector<runtime::child_spec> gateway_children(
    std::string consumer_id, kafka::group_consumer_config cfg,
    std::function<caf::actor()> coordinator, std::string start_topic,
    std::string reply_topic, start_fn start, std::shared_ptr<kafka::consumer_stats> stats,
    std::chrono::milliseconds timeout, std::shared_ptr<owned_partitions> owned) {
  auto slot = std::make_shared<runtime::actor_slot>();
  runtime::child_spec gateway{
      "saga-gateway:" + consumer_id,
      [coordinator, reply_topic, start](caf::actor_system& sys) -> result<caf::actor> {
        return spawn_gateway(sys, coordinator, reply_topic, start);
      }};
  connect_rebalance(cfg, coordinator, start_topic, owned);
  runtime::child_spec consumer{
      consumer_id, [=](caf::actor_system& sys) -> result<caf::actor> {
        auto g = slot->get();
        if (!g)
          return error{runtime::errc::invalid_argument,
                       consumer_id + ": the saga gateway is not running"};
        if (owned) // a consumer that starts owns nothing until it is assigned
          owned->forget(start_topic);
        auto h = kafka::handler::from_actor(g, timeout);
        return kafka::group_consumer_child(consumer_id, cfg,
                                           {{start_topic, h}, {reply_topic, h}}, stats)
            .start(sys);
      }};
  return {runtime::track(std::move(gateway), slot), std::move(consumer)};
}

void connect_rebalance(kafka::group_consumer_config& cfg,
                       std::function<caf::actor()> coordinator, std::string start_topic,
                       std::shared_ptr<owned_partitions> owned) {
  auto assigned = std::move(cfg.on_assigned);
  cfg.on_assigned = [=](const std::vector<kafka::topic_partition>& tps) {
    if (assigned)
      assigned(tps);
    for (const auto& tp : tps) {
      if (tp.topic != start_topic)
        continue;
      // Before the recovery: the commands it resends are this node's to publish.
      if (owned)
        owned->assign(tp.topic, tp.partition);
      if (auto c = coordinator())
        caf::anon_send(c, saga_recover_atom::value, tp.topic, tp.partition);
    }
  };
  auto revoked = std::move(cfg.on_revoked);
  cfg.on_revoked = [=](const std::vector<kafka::topic_partition>& tps, bool lost) {
    if (revoked)
      revoked(tps, lost);
    for (const auto& tp : tps) {
      if (tp.topic != start_topic)
        continue;
      if (owned)
        owned->revoke(tp.topic, tp.partition);
      if (auto c = coordinator())
        caf::anon_send(c, saga_revoke_atom::value, tp.topic, tp.partition);
    }
  };
}

} // namespace phoenix::sagas
