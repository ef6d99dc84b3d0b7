#include "phoenix/runtime/actor_error.hpp"
#include "supervisor_actor.hpp"

#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>

namespace phoenix::runtime {
namespace detail {

caf::behavior supervisor_actor::make_behavior() {
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
      [this](restart_due_atom, std::uint64_t index, std::uint64_t token) {
        restart_due(index, token);
      },
      [this](backoff_reset_atom, std::uint64_t index, std::uint64_t generation) {
        backoff_reset(index, generation);
      },
  };
}

std::optional<std::size_t> supervisor_actor::find(const caf::actor_addr& addr) const {
  for (std::size_t i = 0; i < children_.size(); ++i)
    if (children_[i].handle && children_[i].handle.address() == addr)
      return i;
  return std::nullopt;
}

void supervisor_actor::watch(std::size_t i) {
  auto& c = children_[i];
  ++c.generation;
  c.started_at = clock().now();
  if (spec_.backoff && c.failures > 0)
    delayed_send(this, spec_.backoff->reset_after, backoff_reset_atom::value,
                 static_cast<std::uint64_t>(i), c.generation);
  // Monitors, not links: a link would pass a child's `kill` on to the supervisor,
  // which cannot trap it.
  monitor(c.handle);
}

void supervisor_actor::emit(supervisor_event::kind_t kind, std::size_t i,
                            std::string reason) {
  supervisor_event ev{kind, spec_.name, children_[i].spec.id, std::move(reason), restarts_};
  switch (kind) {
  case supervisor_event::child_started:
  case supervisor_event::child_stopped:
    spdlog::debug("supervisor {}: {} {}", ev.supervisor, ev.child, to_string(kind));
    break;
  case supervisor_event::child_restarted:
    spdlog::warn("supervisor {}: restarted {} (restart #{})", ev.supervisor, ev.child,
                 ev.restarts);
    break;
  case supervisor_event::restart_delayed:
    spdlog::warn("supervisor {}: {} {}", ev.supervisor, ev.child, ev.reason);
    break;
  case supervisor_event::backoff_reset:
    spdlog::info("supervisor {}: {} stable again ({})", ev.supervisor, ev.child, ev.reason);
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

void supervisor_actor::on_down(const caf::down_msg& msg) {
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

void supervisor_actor::handle_exit(std::size_t i, const caf::error& reason) {
  auto& c = children_[i];
  emit(supervisor_event::child_exited, i, describe(reason));
  bool restart = c.spec.restart == restart_type::permanent ||
                 (c.spec.restart == restart_type::transient && !is_normal_exit(reason));
  if (!restart) {
    c.removed = c.spec.restart == restart_type::temporary;
    return;
  }
  if (spec_.backoff && delay_restart(i, reason))
    return;
  if (!count_restart(i, reason))
    return;
  restart_after_exit(i);
}

// Records a restart against the intensity; escalates and returns false past it.
bool supervisor_actor::count_restart(std::size_t i, const caf::error& reason) {
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

std::vector<std::size_t> supervisor_actor::running_in_reverse(std::size_t from,
                                                              std::size_t except) const {
  std::vector<std::size_t> out;
  for (auto j = children_.size(); j-- > from;)
    if (j != except && children_[j].handle)
      out.push_back(j);
  return out;
}

void supervisor_actor::restart_after_exit(std::size_t i) {
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

void supervisor_actor::start_all_from(std::size_t first, std::size_t last) {
  // A child waiting out its backoff is skipped, and under rest_for_one/one_for_all
  // so are the children after it, which its delayed restart starts.
  for (auto j = first; j < last && !shutting_down_; ++j) {
    auto& c = children_[j];
    if (!c.wait_token && !c.removed && !c.handle)
      start_child(j);
    if (c.wait_token && spec_.strategy != restart_strategy::one_for_one)
      break;
  }
}

void supervisor_actor::start_child(std::size_t i) {
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
  if (spec_.backoff) {
    // Waits like an exit soon after a start; start_all_from skips what follows.
    c.failures = std::max(c.failures, 1) + 1;
    auto [first, last] = restart_range(i);
    wait_then_start(i, first, last, started.error().describe());
    return;
  }
  // A failed restart counts like a crash; retry from the mailbox so the other
  // children and exit requests are served in between.
  if (count_restart(i, to_caf_error(started.error())))
    send(this, retry_start_atom::value, static_cast<std::uint64_t>(i));
}

void supervisor_actor::retry_start(std::uint64_t index) {
  if (shutting_down_ || index >= children_.size())
    return;
  if (job_) {
    // A sibling stop is in flight; its continuation starts the child if it is in
    // its range, otherwise try again once it has finished.
    pending_.push_back(pending_exit{index, children_[index].generation, {}});
    return;
  }
  auto& c = children_[index];
  if (!c.handle && !c.removed && !c.wait_token)
    start_child(index);
}

void supervisor_actor::stop_then(std::vector<std::size_t> order,
                                 std::function<void()> then) {
  job_ = stop_job{std::move(order), 0, std::move(then)};
  advance_stop();
}

void supervisor_actor::advance_stop() {
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

void supervisor_actor::on_stop_timeout(std::uint64_t token) {
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
void supervisor_actor::drain_pending() {
  while (!job_ && !shutting_down_ && !pending_.empty()) {
    auto p = pending_.front();
    pending_.pop_front();
    auto& c = children_[p.index];
    if (c.handle || c.removed || c.generation != p.generation)
      continue;
    if (p.backoff_due)
      start_all_from(c.wait_first, c.wait_last);
    else if (!p.reason)
      start_child(p.index); // a deferred start retry
    else
      handle_exit(p.index, p.reason);
  }
}

void supervisor_actor::begin_shutdown(caf::error reason) {
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

} // namespace detail

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
  auto self =
      sys.spawn<detail::supervisor_actor>(std::move(spec), std::move(started), reason);
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
