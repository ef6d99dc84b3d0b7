// The supervisor actor behind start_supervisor: supervisor.cpp holds its OTP core,
// supervisor_backoff.cpp its restart backoff.
#pragma once

#include "phoenix/runtime/supervisor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <deque>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace phoenix::runtime::detail {

using stop_timeout_atom = caf::atom_constant<caf::atom("sv_stop_to")>;
using retry_start_atom = caf::atom_constant<caf::atom("sv_retry")>;
using restart_due_atom = caf::atom_constant<caf::atom("sv_due")>;
using backoff_reset_atom = caf::atom_constant<caf::atom("sv_reset")>;

struct child_state {
  child_spec spec;
  caf::actor handle;            // null while not running
  std::uint64_t generation = 0; // bumped on every start, to spot stale exits
  bool removed = false;         // temporary child that has exited
  // Backoff (supervisor_spec::backoff) only:
  caf::actor_clock::time_point started_at{};
  int failures = 0;             // exits since the child was last stable
  std::uint64_t wait_token = 0; // non-zero while a delayed restart is pending
  std::size_t wait_first = 0;   // the children [wait_first, wait_last) that it starts
  std::size_t wait_last = 0;
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
  bool backoff_due = false; // a delayed restart that came during a stop job
};

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_spec spec,
                   std::vector<caf::actor> started, caf::error start_failure)
      : caf::event_based_actor(cfg), spec_(std::move(spec)),
        start_failure_(std::move(start_failure)) {
    for (auto& c : spec_.children)
      children_.emplace_back().spec = std::move(c);
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

  caf::behavior make_behavior() override;

private:
  std::optional<std::size_t> find(const caf::actor_addr& addr) const;

  void watch(std::size_t i);

  void emit(supervisor_event::kind_t kind, std::size_t i, std::string reason);

  void on_down(const caf::down_msg& msg);

  void handle_exit(std::size_t i, const caf::error& reason);

  // The children a restart of `i` starts, by strategy.
  std::pair<std::size_t, std::size_t> restart_range(std::size_t i) const;

  // Under backoff: the first exit since the child was stable restarts it at once
  // (false); a later one stops the siblings the strategy restarts with it and waits.
  bool delay_restart(std::size_t i, const caf::error& reason);

  void wait_then_start(std::size_t i, std::size_t first, std::size_t last,
                       const std::string& why);

  void restart_due(std::uint64_t index, std::uint64_t token);

  void backoff_reset(std::uint64_t index, std::uint64_t generation);

  // Records a restart against the intensity; escalates and returns false past it.
  bool count_restart(std::size_t i, const caf::error& reason);

  std::vector<std::size_t> running_in_reverse(std::size_t from, std::size_t except) const;

  void restart_after_exit(std::size_t i);

  void start_all_from(std::size_t first, std::size_t last);

  void start_child(std::size_t i);

  void retry_start(std::uint64_t index);

  void stop_then(std::vector<std::size_t> order, std::function<void()> then);

  void advance_stop();

  void on_stop_timeout(std::uint64_t token);

  // Exits that arrived while a stop job ran are handled once it is done, unless the job
  // has restarted the child since.
  void drain_pending();

  void begin_shutdown(caf::error reason);

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
  std::uint64_t wait_seq_ = 0;
  std::minstd_rand rng_{std::random_device{}()};
};

} // namespace phoenix::runtime::detail
