#include "phoenix/runtime/supervisor.hpp"

#include "phoenix/runtime/actor_error.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <deque>
#include <optional>
#include <spdlog/spdlog.h>

namespace phoenix::runtime {
namespace {

// The registry name under which the supervision observer is found.
constexpr caf::atom_value observer_key = caf::atom("phx_svobs");

using stop_timeout_atom = caf::atom_constant<caf::atom("sv_stop_to")>;
using retry_start_atom = caf::atom_constant<caf::atom("sv_retry")>;

struct child_state {
  child_spec spec;
  caf::actor handle;            // null while not running
  std::uint64_t generation = 0; // bumped on every start, to spot stale exits
  bool removed = false;         // temporary child that has exited
};

// Ordered stop of some children, one at a time, then a continuation.
struct stop_job {
  std::vector<std::size_t> order;
  std::size_t pos = 0;
  std::function<void()> then;
};

struct pending_exit {
  std::size_t index;
  std::uint64_t generation;
  caf::error reason;
};

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_spec spec,
                   std::vector<caf::actor> started, caf::error start_failure)
      : caf::event_based_actor(cfg), spec_(std::move(spec)),
        start_failure_(std::move(start_failure)) {
    for (auto& c : spec_.children)
      children_.push_back(child_state{std::move(c), nullptr, 0, false});
    spec_.children.clear();
    for (std::size_t i = 0; i < started.size(); ++i)
      children_[i].handle = std::move(started[i]);
  }

  const char* name() const override { return "phoenix.supervisor"; }

  // Runs however the supervisor ends (also from its destructor, when no handle to it is
  // left, hence anonymous sends): after an ordered stop no child is left, but a
  // supervisor killed outright must not leave orphans behind.
  void on_exit() override {
    for (auto& c : children_)
      if (c.handle)
        caf::anon_send_exit(c.handle, caf::exit_reason::kill);
    children_.clear();
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    // Exit requests (from the parent, or the node on a signal) become an ordered stop.
    set_exit_handler([this](caf::exit_msg& msg) { begin_shutdown(msg.reason); });
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].handle) {
        watch(i);
        emit(supervisor_event::child_started, i, {});
      }
    }
    if (start_failure_)
      begin_shutdown(start_failure_);
    return {
        [this](stop_timeout_atom, std::uint64_t token) { on_stop_timeout(token); },
        [this](retry_start_atom, std::uint64_t index) { retry_start(index); },
    };
  }

private:
  std::optional<std::size_t> find(const caf::actor_addr& addr) const {
    for (std::size_t i = 0; i < children_.size(); ++i)
      if (children_[i].handle && children_[i].handle.address() == addr)
        return i;
    return std::nullopt;
  }

  void watch(std::size_t i) {
    auto& c = children_[i];
    ++c.generation;
    // Monitors, not links: a link would pass a child's `kill` on to the supervisor,
    // which cannot trap it.
    monitor(c.handle);
  }

  void emit(supervisor_event::kind_t kind, std::size_t i, std::string reason) {
    supervisor_event ev{kind, spec_.name, children_[i].spec.id, std::move(reason),
                        restarts_};
    switch (kind) {
    case supervisor_event::child_started:
    case supervisor_event::child_stopped:
      spdlog::debug("supervisor {}: {} {}", ev.supervisor, ev.child, to_string(kind));
      break;
    case supervisor_event::child_restarted:
      spdlog::warn("supervisor {}: restarted {} (restart #{})", ev.supervisor, ev.child,
                   ev.restarts);
      break;
    case supervisor_event::child_exited:
      if (ev.reason == "normal" || ev.reason == "user_shutdown")
        spdlog::info("supervisor {}: {} exited: {}", ev.supervisor, ev.child, ev.reason);
      else
        spdlog::error("supervisor {}: {} crashed: {}", ev.supervisor, ev.child, ev.reason);
      break;
    default:
      spdlog::error("supervisor {}: {} {}: {}", ev.supervisor, ev.child, to_string(kind),
                    ev.reason);
    }
    if (spec_.on_event)
      spec_.on_event(ev);
    report_supervision_event(system(), ev);
  }

  void on_down(const caf::down_msg& msg) {
    auto found = find(msg.source);
    if (!found)
      return;
    auto i = *found;
    auto& c = children_[i];
    c.handle = nullptr;
    if (job_ && waiting_ == i) {
      waiting_.reset();
      if (c.spec.restart == restart_type::temporary)
        c.removed = true;
      emit(supervisor_event::child_stopped, i, describe(msg.reason));
      ++job_->pos;
      advance_stop();
      return;
    }
    if (job_ || shutting_down_) {
      emit(supervisor_event::child_exited, i, describe(msg.reason));
      if (!shutting_down_)
        pending_.push_back(pending_exit{i, c.generation, msg.reason});
      return;
    }
    handle_exit(i, msg.reason);
  }

  void handle_exit(std::size_t i, const caf::error& reason) {
    auto& c = children_[i];
    emit(supervisor_event::child_exited, i, describe(reason));
    bool restart = c.spec.restart == restart_type::permanent ||
                   (c.spec.restart == restart_type::transient && !is_normal_exit(reason));
    if (!restart) {
      c.removed = c.spec.restart == restart_type::temporary;
      return;
    }
    if (!count_restart(i, reason))
      return;
    restart_after_exit(i);
  }

  // Records a restart against the intensity; escalates and returns false past it.
  bool count_restart(std::size_t i, const caf::error& reason) {
    auto now = clock().now();
    restart_times_.push_back(now);
    while (!restart_times_.empty() && restart_times_.front() <= now - spec_.period)
      restart_times_.pop_front();
    if (static_cast<int>(restart_times_.size()) <= spec_.intensity) {
      ++restarts_;
      return true;
    }
    auto text = "supervisor '" + spec_.name + "': more than " +
                std::to_string(spec_.intensity) + " restarts within " +
                std::to_string(spec_.period.count()) + " ms; last: child '" +
                children_[i].spec.id + "': " + describe(reason);
    emit(supervisor_event::intensity_exceeded, i, text);
    begin_shutdown(to_caf_error(error{errc::restart_intensity, text}));
    return false;
  }

  std::vector<std::size_t> running_in_reverse(std::size_t from, std::size_t except) const {
    std::vector<std::size_t> out;
    for (auto j = children_.size(); j-- > from;)
      if (j != except && children_[j].handle)
        out.push_back(j);
    return out;
  }

  void restart_after_exit(std::size_t i) {
    switch (spec_.strategy) {
    case restart_strategy::one_for_one:
      start_all_from(i, i + 1);
      break;
    case restart_strategy::one_for_all:
      stop_then(running_in_reverse(0, i), [this] { start_all_from(0, children_.size()); });
      break;
    case restart_strategy::rest_for_one:
      stop_then(running_in_reverse(i + 1, i),
                [this, i] { start_all_from(i, children_.size()); });
      break;
    }
  }

  void start_all_from(std::size_t first, std::size_t last) {
    for (auto j = first; j < last && !shutting_down_; ++j)
      if (!children_[j].removed && !children_[j].handle)
        start_child(j);
  }

  void start_child(std::size_t i) {
    auto& c = children_[i];
    result<caf::actor> started = error{errc::child_start_failed, "start function threw"};
    try {
      started = c.spec.start(system());
    } catch (const std::exception& e) {
      started = error{errc::child_start_failed, e.what()};
    }
    if (started) {
      c.handle = *started;
      watch(i);
      emit(supervisor_event::child_restarted, i, {});
      return;
    }
    emit(supervisor_event::restart_failed, i, started.error().describe());
    // A failed restart counts like a crash; retry from the mailbox so the other
    // children and exit requests are served in between.
    if (count_restart(i, to_caf_error(started.error())))
      send(this, retry_start_atom::value, static_cast<std::uint64_t>(i));
  }

  void retry_start(std::uint64_t index) {
    if (shutting_down_ || index >= children_.size())
      return;
    if (job_) {
      // A sibling stop is in flight; its continuation starts the child if it is in
      // its range, otherwise try again once it has finished.
      pending_.push_back(pending_exit{index, children_[index].generation, {}});
      return;
    }
    if (!children_[index].handle && !children_[index].removed)
      start_child(index);
  }

  void stop_then(std::vector<std::size_t> order, std::function<void()> then) {
    job_ = stop_job{std::move(order), 0, std::move(then)};
    advance_stop();
  }

  void advance_stop() {
    while (job_->pos < job_->order.size()) {
      auto i = job_->order[job_->pos];
      auto& c = children_[i];
      if (!c.handle) {
        ++job_->pos;
        continue;
      }
      waiting_ = i;
      send_exit(c.handle, caf::exit_reason::user_shutdown);
      delayed_send(this, c.spec.shutdown_timeout, stop_timeout_atom::value, ++stop_token_);
      return;
    }
    auto then = std::move(job_->then);
    job_.reset();
    then();
    drain_pending();
  }

  void on_stop_timeout(std::uint64_t token) {
    if (!job_ || !waiting_ || token != stop_token_)
      return;
    auto i = *waiting_;
    emit(supervisor_event::child_killed, i,
         "no exit within " + std::to_string(children_[i].spec.shutdown_timeout.count()) +
             " ms");
    send_exit(children_[i].handle, caf::exit_reason::kill);
  }

  // Exits that arrived while a stop job ran are handled once it is done, unless the job
  // has restarted the child since.
  void drain_pending() {
    while (!job_ && !shutting_down_ && !pending_.empty()) {
      auto p = pending_.front();
      pending_.pop_front();
      auto& c = children_[p.index];
      if (c.handle || c.removed || c.generation != p.generation)
        continue;
      if (!p.reason)
        start_child(p.index); // a deferred start retry
      else
        handle_exit(p.index, p.reason);
    }
  }

  void begin_shutdown(caf::error reason) {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    final_reason_ = std::move(reason);
    auto stop_all = [this] {
      stop_then(running_in_reverse(0, children_.size()), [this] { quit(final_reason_); });
    };
    if (job_)
      job_->then = stop_all;
    else
      stop_all();
  }

  supervisor_spec spec_;
  caf::error start_failure_;
  std::vector<child_state> children_;
  std::deque<caf::actor_clock::time_point> restart_times_;
  std::size_t restarts_ = 0;
  std::optional<stop_job> job_;
  std::optional<std::size_t> waiting_;
  std::uint64_t stop_token_ = 0;
  std::deque<pending_exit> pending_;
  bool shutting_down_ = false;
  caf::error final_reason_;
};

} // namespace

const char* to_string(supervisor_event::kind_t kind) noexcept {
  switch (kind) {
  case supervisor_event::child_started:
    return "started";
  case supervisor_event::child_exited:
    return "exited";
  case supervisor_event::child_restarted:
    return "restarted";
  case supervisor_event::restart_failed:
    return "restart failed";
  case supervisor_event::child_stopped:
    return "stopped";
  case supervisor_event::child_killed:
    return "killed after shutdown timeout";
  case supervisor_event::intensity_exceeded:
    return "restart intensity exceeded";
  }
  return "unknown";
}

void set_supervision_observer(caf::actor_system& sys, const caf::actor& observer) {
  if (observer)
    sys.registry().put(observer_key, observer);
  else
    sys.registry().erase(observer_key);
}

void report_supervision_event(caf::actor_system& sys, const supervisor_event& ev) {
  if (auto observer = sys.registry().get<caf::actor>(observer_key))
    caf::anon_send(observer, supervision_event_atom::value, ev);
}

result<caf::actor> start_supervisor(caf::actor_system& sys, supervisor_spec spec) {
  std::vector<caf::actor> started;
  std::optional<error> failure;
  for (auto& c : spec.children) {
    result<caf::actor> r = error{errc::child_start_failed, "start function threw"};
    try {
      r = c.start(sys);
    } catch (const std::exception& e) {
      r = error{errc::child_start_failed, e.what()};
    }
    if (!r) {
      failure =
          error{errc::child_start_failed, "supervisor '" + spec.name + "': child '" + c.id +
                                              "' failed to start: " + r.error().describe()};
      spdlog::error("{}", failure->message());
      break;
    }
    started.push_back(*r);
  }
  auto reason = failure ? to_caf_error(*failure) : caf::error{};
  auto self = sys.spawn<supervisor_actor>(std::move(spec), std::move(started), reason);
  if (failure)
    return *failure;
  return self;
}

child_spec supervisor_child(supervisor_spec spec,
                            std::chrono::milliseconds shutdown_timeout,
                            restart_type restart) {
  auto id = spec.name;
  return child_spec{std::move(id),
                    [spec = std::move(spec)](caf::actor_system& sys) {
                      return start_supervisor(sys, spec);
                    },
                    restart, shutdown_timeout};
}

} // namespace phoenix::runtime
