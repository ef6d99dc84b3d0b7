#include "phoenix/observability/health_monitor.hpp"

#include "health_probe.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <deque>
#include <spdlog/spdlog.h>

namespace phoenix::observability {

check_state health_state::storm_check() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (!backing_off_.empty()) {
    std::string text = "restarting under backoff, not stable yet:";
    for (auto& [who, last] : backing_off_)
      text += " " + who + " (" + last + ");";
    text.pop_back();
    return {false, text};
  }
  if (!storm_)
    return {true, std::to_string(in_window_) + " restart(s) in the storm window"};
  return {false, "restart storm: " + std::to_string(in_window_) +
                     " restarts within the window; last: " + last_restart_};
}

std::vector<std::string> health_state::backing_off() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  for (auto& entry : backing_off_)
    out.push_back(entry.first);
  return out;
}

bool health_state::storm() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return storm_;
}

namespace {

std::uint64_t lookup(const std::map<std::string, std::uint64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

} // namespace

std::uint64_t health_state::restarts(const std::string& kind) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lookup(restarts_, kind);
}

std::uint64_t health_state::crashes(const std::string& kind) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lookup(crashes_, kind);
}

std::uint64_t health_state::escalations(const std::string& supervisor) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lookup(escalations_, supervisor);
}

std::string actor_kind(const std::string& child_id) {
  auto colon = child_id.find(':');
  return colon == std::string::npos ? child_id : child_id.substr(0, colon);
}

// The monitor's way into health_state, which only it writes.
struct health_monitor_access {
  static void update(health_state& s, const std::function<void(health_state&)>& f) {
    std::lock_guard<std::mutex> guard{s.mtx_};
    f(s);
  }
  static auto& restarts(health_state& s) { return s.restarts_; }
  static auto& crashes(health_state& s) { return s.crashes_; }
  static auto& escalations(health_state& s) { return s.escalations_; }
  static void window(health_state& s, std::size_t n, bool storm) {
    s.in_window_ = n;
    s.storm_ = storm;
  }
  static void last(health_state& s, std::string what) { s.last_restart_ = std::move(what); }
  static auto& backing_off(health_state& s) { return s.backing_off_; }
};

namespace {

using recheck_atom = caf::atom_constant<caf::atom("hm_recheck")>;

struct monitor_state {
  std::deque<caf::actor_clock::time_point> window;
  bool recheck_pending = false;
};

struct monitor_context {
  health_monitor_options opts;
  std::shared_ptr<health_state> state;
  std::shared_ptr<health_probe> probe;
};

using self_ptr = caf::stateful_actor<monitor_state>*;
using access = health_monitor_access;

bool is_crash(const std::string& reason) {
  return reason != "normal" && reason != "user_shutdown" && !reason.empty();
}

// Drops restarts older than the window and publishes whether a storm is on; while
// restarts remain in the window, looks again when the oldest leaves it.
void evaluate(self_ptr self, const monitor_context& ctx) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto window = ctx.opts.config.storm_window;
  while (!st.window.empty() && st.window.front() <= now - window)
    st.window.pop_front();
  bool storm = static_cast<int>(st.window.size()) >= ctx.opts.config.storm_restarts;
  bool was = ctx.state->storm();
  access::update(*ctx.state,
                 [&](health_state& s) { access::window(s, st.window.size(), storm); });
  if (storm != was) {
    ctx.probe->set_storm(storm);
    if (storm)
      spdlog::error("health: restart storm: {} restarts within {} ms; /ready fails",
                    st.window.size(), window.count());
    else
      spdlog::info("health: restart storm over");
  }
  if (!st.window.empty() && !st.recheck_pending) {
    st.recheck_pending = true;
    self->delayed_send(self, st.window.front() + window - now, recheck_atom::value);
  }
}

void on_event(self_ptr self, const monitor_context& ctx,
              const runtime::supervisor_event& e) {
  using ev = runtime::supervisor_event;
  auto kind = actor_kind(e.child);
  auto who = e.supervisor + "/" + e.child;
  switch (e.kind) {
  case ev::child_restarted:
  case ev::restart_failed:
    ctx.probe->record_restart(kind);
    access::update(*ctx.state, [&](health_state& s) {
      ++access::restarts(s)[kind];
      access::last(s, e.supervisor + "/" + e.child);
    });
    self->state.window.push_back(self->clock().now());
    evaluate(self, ctx);
    break;
  case ev::child_exited:
  case ev::child_killed:
    if (e.kind == ev::child_killed || is_crash(e.reason)) {
      ctx.probe->record_crash(kind);
      access::update(*ctx.state, [&](health_state& s) { ++access::crashes(s)[kind]; });
    }
    break;
  case ev::intensity_exceeded:
    ctx.probe->record_escalation(e.supervisor);
    access::update(*ctx.state,
                   [&](health_state& s) { ++access::escalations(s)[e.supervisor]; });
    if (e.supervisor == ctx.opts.root_supervisor)
      ctx.state->set_tree_up(false);
    access::update(*ctx.state, [&](health_state& s) { // its children start afresh
      auto& waiting = access::backing_off(s);
      for (auto it = waiting.begin(); it != waiting.end();)
        it = it->first.rfind(e.supervisor + "/", 0) == 0 ? waiting.erase(it) : ++it;
    });
    break;
  case ev::restart_delayed:
    if (ctx.state->backing_off().empty())
      spdlog::error("health: {} restarting under backoff; /ready fails", who);
    access::update(*ctx.state,
                   [&](health_state& s) { access::backing_off(s)[who] = e.reason; });
    break;
  case ev::backoff_reset:
    access::update(*ctx.state, [&](health_state& s) { access::backing_off(s).erase(who); });
    break;
  case ev::child_started:
    // Series start at 0 for every kind and supervisor seen, so rate() and the
    // dashboard see them before the first failure.
    ctx.probe->know(kind, e.supervisor);
    access::update(*ctx.state, [&](health_state& s) { access::backing_off(s).erase(who); });
    break;
  case ev::child_stopped:
    break;
  }
}

caf::behavior health_monitor(self_ptr self, std::shared_ptr<monitor_context> ctx) {
  return {
      [self, ctx](runtime::supervision_event_atom, const runtime::supervisor_event& e) {
        on_event(self, *ctx, e);
      },
      [self, ctx](recheck_atom) {
        self->state.recheck_pending = false;
        evaluate(self, *ctx);
      },
  };
}

} // namespace

runtime::child_spec health_monitor_child(health_monitor_options opts,
                                         std::shared_ptr<health_state> state,
                                         std::shared_ptr<metrics_registry> metrics,
                                         std::shared_ptr<readiness> ready) {
  auto id = opts.id;
  // One probe for every incarnation of the monitor: its counters outlive restarts.
  auto probe = std::make_shared<health_probe>(*metrics);
  if (ready)
    ready->add("restarts", [state] { return state->storm_check(); });
  auto ctx = std::make_shared<monitor_context>(
      monitor_context{std::move(opts), std::move(state), std::move(probe)});
  auto start = [ctx](caf::actor_system& sys) -> result<caf::actor> {
    auto self = sys.spawn(health_monitor, ctx);
    runtime::set_supervision_observer(sys, self);
    return self;
  };
  return runtime::child_spec{std::move(id), std::move(start),
                             runtime::restart_type::permanent, std::chrono::seconds{5}};
}

} // namespace phoenix::observability
