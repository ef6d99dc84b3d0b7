// The in-process route's failed records: the topic's `[policy]` as the group consumer's
// lanes apply it (actors/src/kafka/lane_failures.cpp), without retry topics (no poll
// interval to protect): attempts with full-jitter backoff on a timer, crashes as
// attempts, then `<topic>.dlq` published through the bus with the failure headers.

#include "bus/inproc_router.hpp"
#include "phoenix/actors/policies/backoff.hpp"
#include "phoenix/runtime/actor_error.hpp"
#include "policies/failure_path.hpp"

#include <chrono>
#include <spdlog/spdlog.h>

namespace phoenix::bus {
namespace {

std::string where(const kafka::record_position& p) {
  return p.topic + "[" + std::to_string(p.partition) + "]@" + std::to_string(p.offset);
}

} // namespace

runtime::retry_policy inproc_router::policy_of(const std::string& topic) const {
  auto p = shared_->cfg.consumer.policies.of(topic);
  p.retry_topics.clear(); // a record in process has no retry topic to wait in
  return p;
}

inproc_router::next inproc_router::settle(sub_state& s, lane& l,
                                          std::optional<kafka::handler_status> status,
                                          const caf::error& err) {
  auto& stats = *shared_->stats;
  if (!status) {
    stats.crashes.fetch_add(1, std::memory_order_relaxed);
    ++l.crashes;
    spdlog::warn("bus: {} crashed on {} (crash {}): {}", name_of(s.spec),
                 where(l.queue.front()->pos), l.crashes, runtime::describe(err));
    return after_failure(s, l, "crash", runtime::describe(err), false);
  }
  switch (*status) {
  case kafka::handler_status::done:
    stats.handled.fetch_add(1, std::memory_order_relaxed);
    return next::finished;
  case kafka::handler_status::retry:
    return after_failure(s, l, "handler_retry", "the handler asked for a retry", false);
  case kafka::handler_status::rejected:
    return after_failure(s, l, "handler_rejected", "the handler rejected the record", true);
  }
  return next::finished;
}

inproc_router::next inproc_router::after_failure(sub_state& s, lane& l,
                                                 std::string error_class,
                                                 std::string message, bool permanent) {
  const auto& rec = *l.queue.front();
  ++l.attempts;
  auto& m = l.marks;
  m.error_class = std::move(error_class);
  m.error_message = std::move(message);
  m.attempts = l.attempts;
  m.original_topic = rec.pos.topic;
  m.original_partition = rec.pos.partition;
  m.original_offset = rec.pos.offset;
  m.node_id = shared_->cfg.consumer.node_id;
  if (m.first_failure_ms < 0)
    m.first_failure_ms = policies::wall_ms();
  auto p = policy_of(rec.pos.topic);
  if (m.error_class == "crash") {
    // As in a Kafka lane: the restart is the pause, and max_crashes_per_record crashes
    // move the record on whatever `attempts` says.
    if (l.crashes < shared_->cfg.consumer.max_crashes_per_record && l.attempts < p.attempts)
      return next::again;
    return give_up_or_dead_letter(s, l);
  }
  auto wait = policies::full_jitter(p, l.attempts, rng_());
  auto in_place =
      std::chrono::duration_cast<std::chrono::milliseconds>(self_->clock().now() - l.since);
  auto step = policies::after_failure(p, 0, l.attempts, in_place, wait, permanent);
  if (step.what == policies::next_step::kind::retry_in_place) {
    shared_->stats->retried.fetch_add(1, std::memory_order_relaxed);
    l.delay = step.delay;
    return next::later;
  }
  return give_up_or_dead_letter(s, l);
}

inproc_router::next inproc_router::give_up_or_dead_letter(sub_state& s, lane& l) {
  const auto& rec = *l.queue.front();
  if (policy_of(rec.pos.topic).dlq) {
    spdlog::warn("bus: {}: record {} (id {}) to {} after {} attempt(s): {}: {}",
                 name_of(s.spec), where(rec.pos), rec.env.id,
                 policies::dlq_topic(rec.pos.topic), l.attempts, l.marks.error_class,
                 l.marks.error_message);
    return next::dead_letter;
  }
  shared_->stats->rejected.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("bus: {} gave up {} (id {}) after {} attempt(s): {}: {}", name_of(s.spec),
                where(rec.pos), rec.env.id, l.attempts, l.marks.error_class,
                l.marks.error_message);
  return next::finished;
}

void inproc_router::wait(subscription_id id, std::size_t lane_index,
                         std::chrono::milliseconds delay) {
  auto& l = subs_.at(id).lanes[lane_index];
  l.waiting = true;
  self_->delayed_send(self_, delay, inproc_retry_atom::value, id.value,
                      static_cast<std::uint64_t>(lane_index), ++l.token);
}

void inproc_router::retry_due(subscription_id id, std::size_t lane_index,
                              std::uint64_t token) {
  auto it = subs_.find(id);
  if (it == subs_.end() || lane_index >= it->second.lanes.size())
    return;
  auto& l = it->second.lanes[lane_index];
  if (!l.waiting || l.token != token || l.queue.empty())
    return;
  l.waiting = false;
  if (l.moving)
    dead_letter(id, lane_index);
  else
    pump(id, lane_index);
}

// Publishes the front record to `<topic>.dlq` through the bus itself, so it goes
// wherever that topic is routed: the envelope as it was published, its extensions
// followed by the failure headers. The record is finished once the bus accepted it
// (Kafka: the brokers stored it); a refusal is tried again after a backoff (100 ms
// doubling to 5 s), the lane holding the record meanwhile.
void inproc_router::dead_letter(subscription_id id, std::size_t lane_index) {
  auto& l = subs_.at(id).lanes[lane_index];
  l.moving = true;
  l.busy = true;
  const auto& rec = *l.queue.front();
  auto env = rec.env;
  std::vector<runtime::header_view> original;
  for (auto& h : env.extensions)
    original.push_back({h.key, h.value});
  env.extensions = policies::with_marks(original, l.marks);
  auto topic = policies::dlq_topic(rec.pos.topic);
  auto token = ++l.token;
  auto timeout = caf::duration{shared_->cfg.publish_timeout + std::chrono::seconds{5}};
  self_
      ->request(caf::actor{self_}, timeout, publish_atom::value, topic, rec.key,
                std::move(env))
      .then(
          [this, id, lane_index, token](const receipt&) {
            auto it = subs_.find(id);
            if (it == subs_.end() || it->second.lanes[lane_index].token != token)
              return;
            shared_->stats->dead_lettered.fetch_add(1, std::memory_order_relaxed);
            finish_front(id, lane_index);
          },
          [this, id, lane_index, token, topic](const caf::error& err) {
            auto it = subs_.find(id);
            if (it == subs_.end() || it->second.lanes[lane_index].token != token)
              return;
            auto& s = it->second;
            auto& l = s.lanes[lane_index];
            l.busy = false;
            if (s.closing) // an unsubscribe drops it
              return go_on(id, lane_index);
            l.move_backoff =
                std::min(std::max(l.move_backoff * 2, std::chrono::milliseconds{100}),
                         std::chrono::milliseconds{5000});
            spdlog::warn("bus: {}: publishing {} to {} failed, again in {} ms: {}",
                         name_of(s.spec), where(l.queue.front()->pos), topic,
                         l.move_backoff.count(), runtime::describe(err));
            wait(id, lane_index, l.move_backoff);
          });
}

void inproc_router::finish_front(subscription_id id, std::size_t lane_index) {
  auto& s = subs_.at(id);
  auto& l = s.lanes[lane_index];
  l.busy = false;
  l.queue.pop_front();
  l.waiting = l.moving = l.started = false;
  l.attempts = l.crashes = 0;
  l.marks = {};
  l.move_backoff = std::chrono::milliseconds{0};
  --s.pending;
  go_on(id, lane_index);
}

} // namespace phoenix::bus
