// The supervision events' names and their way to the node's observer.
#include "phoenix/runtime/supervisor.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

namespace phoenix::runtime {
namespace {

// The registry name under which the supervision observer is found.
constexpr caf::atom_value observer_key = caf::atom("phx_svobs");

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
  case supervisor_event::restart_delayed:
    return "restart delayed";
  case supervisor_event::backoff_reset:
    return "backoff reset";
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

} // namespace phoenix::runtime
