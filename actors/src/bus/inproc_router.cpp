#include "bus/inproc_router.hpp"

#include "phoenix/runtime/actor_error.hpp"

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::bus {
namespace {

// Runs a function handler for the bus, one record at a time. An exception is the
// handler's crash: it answers the call with an error, which the bus counts against the
// record, as a crash of a Kafka lane is counted. The worker holds no state of its own
// that a restart would need to reset.
caf::behavior handler_worker(caf::event_based_actor*, kafka::record_handler fn) {
  return {
      [fn](kafka::handle_atom, const runtime::envelope& env,
           const kafka::record_position& pos) -> caf::result<kafka::handler_status> {
        try {
          // In process the bus holds owning copies; the handler reads them as views.
          std::vector<runtime::header_view> extensions;
          auto view = runtime::view_of(env, extensions);
          const runtime::trace_scope span{env.trace};
          return fn(view, kafka::record_view{pos.topic, pos.partition, pos.offset, {}});
        } catch (const std::exception& e) {
          return caf::make_error(caf::sec::runtime_error,
                                 std::string{"handler threw: "} + e.what());
        } catch (...) {
          return caf::make_error(caf::sec::runtime_error,
                                 std::string{"handler threw an exception of unknown type"});
        }
      },
  };
}

} // namespace

inproc_router::inproc_router(caf::event_based_actor* self,
                             std::shared_ptr<bus_shared> shared)
    : self_(self), shared_(std::move(shared)) {}

caf::actor inproc_router::spawn_worker(const subscription& sub) {
  auto worker = self_->spawn(handler_worker, sub.handler.function());
  self_->monitor(worker);
  return worker;
}

void inproc_router::add(subscription_id id, const subscription& sub) {
  auto& s = subs_.emplace(id, sub_state{sub, {}, 0, false, nullptr}).first->second;
  s.lanes.resize(sub.key_concurrency);
  for (std::size_t i = 0; i < s.lanes.size(); ++i) {
    if (sub.handler.actor()) {
      s.lanes[i].target = sub.handler.actor();
    } else {
      s.lanes[i].target = spawn_worker(sub);
      workers_[s.lanes[i].target.address()] = {id, i};
    }
  }
  by_topic_[sub.topic].push_back(id);
}

result<std::size_t> inproc_router::deliver(const inproc_record_ptr& rec) {
  auto it = by_topic_.find(rec->pos.topic);
  if (it == by_topic_.end())
    return std::size_t{0};
  auto max = shared_->cfg.routes.max_pending;
  for (auto id : it->second) {
    auto& s = subs_.at(id);
    if (s.pending >= max)
      return phoenix::error{errc::subscriber_full,
                            "publish to " + rec->pos.topic + ": subscription " +
                                name_of(s.spec) + " has " + std::to_string(s.pending) +
                                " records pending ([bus] max_pending)"};
  }
  for (auto id : it->second) {
    auto& s = subs_.at(id);
    auto li = s.lanes.size() == 1 ? 0 : std::hash<std::string>{}(rec->key) % s.lanes.size();
    s.lanes[li].queue.push_back(rec);
    ++s.pending;
    pump(id, li);
  }
  return it->second.size();
}

void inproc_router::pump(subscription_id id, std::size_t lane_index) {
  auto& s = subs_.at(id);
  auto& l = s.lanes[lane_index];
  if (l.busy || l.waiting || l.queue.empty() || s.closing)
    return;
  if (!l.started) {
    l.started = true;
    l.since = self_->clock().now();
  }
  l.busy = true;
  auto token = ++l.token;
  auto timeout = s.spec.handler.actor() && s.spec.handler.timeout().count() > 0
                     ? caf::duration{s.spec.handler.timeout()}
                     : caf::duration{caf::infinite};
  const auto& rec = *l.queue.front();
  self_->request(l.target, timeout, kafka::handle_atom::value, rec.env, rec.pos)
      .then(
          [this, id, lane_index, token](kafka::handler_status status) {
            answered(id, lane_index, token, status, {});
          },
          [this, id, lane_index, token](caf::error& err) {
            answered(id, lane_index, token, std::nullopt, err);
          });
}

void inproc_router::answered(subscription_id id, std::size_t lane_index,
                             std::uint64_t token,
                             std::optional<kafka::handler_status> status,
                             const caf::error& err) {
  auto it = subs_.find(id);
  if (it == subs_.end())
    return;
  auto& s = it->second;
  auto& l = s.lanes[lane_index];
  if (!l.busy || token != l.token)
    return; // an answer to a call already counted (its worker exited first)
  l.busy = false;
  switch (settle(s, l, status, err)) {
  case next::finished:
    finish_front(id, lane_index);
    return;
  case next::again:
    break;
  case next::later:
    wait(id, lane_index, l.delay);
    break;
  case next::dead_letter:
    if (!s.closing)
      return dead_letter(id, lane_index);
    break; // an unsubscribe drops it
  }
  go_on(id, lane_index);
}

void inproc_router::go_on(subscription_id id, std::size_t lane_index) {
  auto& s = subs_.at(id);
  if (s.closing) {
    if (!busy(s))
      close(id);
    return;
  }
  pump(id, lane_index);
  check_idle();
}

bool inproc_router::busy(const sub_state& s) const {
  for (auto& l : s.lanes)
    if (l.busy)
      return true;
  return false;
}

bool inproc_router::remove(subscription_id id, std::function<void()> done) {
  auto it = subs_.find(id);
  if (it == subs_.end() || it->second.closing)
    return false;
  auto& s = it->second;
  auto& ids = by_topic_[s.spec.topic];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty())
    by_topic_.erase(s.spec.topic);
  s.closing = true;
  s.on_closed = std::move(done);
  for (auto& l : s.lanes) {
    auto keep = l.busy ? std::size_t{1} : std::size_t{0};
    auto drop = l.queue.size() - keep;
    l.queue.resize(keep);
    s.pending -= drop;
    shared_->stats->dropped.fetch_add(drop, std::memory_order_relaxed);
  }
  if (!busy(s))
    close(id);
  return true;
}

void inproc_router::close(subscription_id id) {
  auto it = subs_.find(id);
  auto& s = it->second;
  shared_->stats->dropped.fetch_add(s.pending, std::memory_order_relaxed);
  for (auto& l : s.lanes) {
    if (workers_.erase(l.target.address()) != 0)
      self_->send_exit(l.target, caf::exit_reason::user_shutdown);
  }
  auto done = std::move(s.on_closed);
  subs_.erase(it);
  if (done)
    done();
  check_idle();
}

bool inproc_router::on_down(const caf::down_msg& msg) {
  auto it = workers_.find(msg.source);
  if (it == workers_.end())
    return false;
  auto [id, lane_index] = it->second;
  workers_.erase(it);
  auto& s = subs_.at(id);
  auto& l = s.lanes[lane_index];
  spdlog::warn("bus: worker of {} exited: {}; starting another", name_of(s.spec),
               runtime::describe(msg.reason));
  l.target = spawn_worker(s.spec);
  workers_[l.target.address()] = {id, lane_index};
  if (l.busy) // the call it was running is lost: a crash of its record
    answered(id, lane_index, l.token, std::nullopt, msg.reason);
  return true;
}

void inproc_router::when_idle(std::function<void()> done) {
  on_idle_ = std::move(done);
  check_idle();
}

void inproc_router::check_idle() {
  if (!on_idle_)
    return;
  for (auto& [id, s] : subs_)
    if (s.pending > 0)
      return;
  auto done = std::move(on_idle_);
  on_idle_ = nullptr;
  done();
}

void inproc_router::clear() {
  std::vector<std::function<void()>> closed; // unsubscribes waiting for a call in flight
  for (auto& [id, s] : subs_) {
    shared_->stats->dropped.fetch_add(s.pending, std::memory_order_relaxed);
    if (s.on_closed)
      closed.push_back(std::move(s.on_closed));
  }
  for (auto& [addr, where] : workers_)
    if (auto worker = caf::actor_cast<caf::actor>(addr))
      caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  workers_.clear();
  subs_.clear();
  by_topic_.clear();
  on_idle_ = nullptr;
  for (auto& done : closed)
    done();
}

} // namespace phoenix::bus
