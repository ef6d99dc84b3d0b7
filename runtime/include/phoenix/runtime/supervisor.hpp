#pragma once

#include "phoenix/runtime/error.hpp"
#include "phoenix/runtime/restart_backoff.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::runtime {

/// What a supervisor does when a child must be restarted (Erlang/OTP semantics).
enum class restart_strategy {
  one_for_one,  ///< Restart only the child that exited.
  one_for_all,  ///< Stop all other children (reverse order), then restart all in order.
  rest_for_one, ///< Stop the children started after it (reverse order), restart them.
};

/// When a child is restarted.
enum class restart_type {
  permanent, ///< Always.
  transient, ///< Only after an abnormal exit (not `normal`, not `user_shutdown`).
  temporary, ///< Never; the child is forgotten once it exits.
};

/// Starts one child and returns its handle. Runs synchronously: in the caller of
/// `start_supervisor` for the first start, in the supervisor for restarts. A start
/// function that cannot start its actor (bad config, resource unavailable) returns an
/// error instead of a handle.
using child_start_fn = std::function<result<caf::actor>(caf::actor_system&)>;

struct child_spec {
  std::string id;
  child_start_fn start;
  restart_type restart = restart_type::permanent;
  /// How long an orderly stop (`user_shutdown`) may take before the child is killed.
  std::chrono::milliseconds shutdown_timeout{5000};
};

/// Something a supervisor did, reported to `supervisor_spec::on_event` and logged.
struct supervisor_event {
  enum kind_t {
    child_started,      ///< First start of a child.
    child_exited,       ///< A child exited without being asked to.
    child_restarted,    ///< A child was started again after an exit.
    restart_failed,     ///< A restart's start function returned an error.
    child_stopped,      ///< A child stopped as asked (shutdown or restart of siblings).
    child_killed,       ///< A child did not stop within its timeout and was killed.
    intensity_exceeded, ///< Too many restarts: the supervisor stops and fails upward.
    restart_delayed,    ///< A restart waits out a backoff; `reason` says how long and why.
    backoff_reset,      ///< A child restarted under backoff has stayed up `reset_after`.
  };
  kind_t kind;
  std::string supervisor;
  std::string child;
  std::string reason;       ///< Exit reason or error, where there is one.
  std::size_t restarts = 0; ///< Restarts this supervisor has made so far.
};

const char* to_string(supervisor_event::kind_t kind) noexcept;

/// The message a supervision observer receives: `(supervision_event_atom,
/// supervisor_event)`.
using supervision_event_atom = caf::atom_constant<caf::atom("sv_event")>;

/// Makes `observer` (the node's health monitor) receive every event of every supervisor
/// in `sys`, nested ones included, without each spec having to name it. One observer per
/// actor system: a later call replaces it, a null handle removes it.
void set_supervision_observer(caf::actor_system& sys, const caf::actor& observer);

/// Passes `ev` to the supervision observer of `sys`, if there is one. Supervisors call it
/// for every event; actors that restart workers of their own (the group consumer's
/// partition actors) call it so those restarts count like a supervisor's.
void report_supervision_event(caf::actor_system& sys, const supervisor_event& ev);

struct supervisor_spec {
  std::string name;
  restart_strategy strategy = restart_strategy::one_for_one;
  /// At most `intensity` restarts within `period`; one more stops the supervisor, its
  /// children in reverse order, and fails it upward with errc::restart_intensity.
  int intensity = 10;
  std::chrono::milliseconds period = std::chrono::seconds{60};
  /// Spaces the restarts of a child that keeps failing (per child); none: every restart
  /// is immediate. With a backoff, only immediate restarts (the first exit of a child
  /// after a stable period) count toward `intensity`; delayed restarts do not, as the
  /// backoff bounds their rate already. A child that fails for good is then retried at
  /// the cap for as long as the supervisor runs instead of ending it. While a child waits,
  /// under rest_for_one/one_for_all the siblings stopped with it wait too (they are
  /// started after it), and a start that fails waits the next delay. An exit request
  /// during a wait stops the supervisor at once: the waiting child is not started.
  std::optional<restart_backoff> backoff;
  /// Started in this order, stopped in the reverse order.
  std::vector<child_spec> children;
  /// Called in the supervisor's context for every event (metrics, health, tests).
  std::function<void(const supervisor_event&)> on_event;
};

/// Starts the children of `spec` in order, then the supervisor actor that watches them.
/// The supervisor traps exit requests: an exit message from anyone but its children
/// stops the children in reverse order (each within its shutdown timeout) before it
/// terminates with the same reason.
///
/// Errors: errc::child_start_failed when a child's start function fails, naming the
/// supervisor, the child and the child's error; the children already started are then
/// stopped in reverse order.
result<caf::actor> start_supervisor(caf::actor_system& sys, supervisor_spec spec);

/// A child spec that runs a nested supervisor; its shutdown timeout defaults to an hour
/// (OTP's `infinity`), since the nested supervisor bounds its own children's stops.
child_spec
supervisor_child(supervisor_spec spec,
                 std::chrono::milliseconds shutdown_timeout = std::chrono::hours{1},
                 restart_type restart = restart_type::permanent);

} // namespace phoenix::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::runtime::supervisor_event)
