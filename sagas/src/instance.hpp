#pragma once

// The saga instance actor and what it shares with its coordinator. Internal: the
// coordinator's protocol (coordinator.hpp) is the public face.
//
// One instance runs one saga while it has work: the coordinator spawns it for a start,
// or when a reply, timer or local outcome arrives for a passivated saga, or for recovery;
// it forwards every event of the saga to it and counts them. The instance runs the state
// machine, writes each transition with its commands (one store request), then kicks the
// relay, makes local calls and arms the next timer. The coordinator's sweep (one timer
// for all instances, every passivate_after / 2) asks the instances it forwarded nothing
// to for passivate_after to passivate; one idle that long offers its state back
// (inst_idle_atom with the number of events it handled); the coordinator takes it only
// if it forwarded no event since, and the instance stops. It stops too once
// its saga is final (inst_finished_atom) or was taken by another writer
// (inst_released_atom). The coordinator monitors it: a crash reaches the coordinator,
// which restarts the saga from the store; the coordinator's end ends its live instances.
// (Not links: a link puts an entry in the coordinator's list of attachables, which CAF
// searches linearly on every unlink; with thousands of instances that was the top cost.)

#include "machine.hpp"
#include "phoenix/sagas/coordinator.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::sagas::detail {

/// Coordinator -> itself (delayed) -> instance: (timer_atom, id, token = state version).
using timer_atom = caf::atom_constant<caf::atom("sg_timer")>;
/// Instance -> coordinator -> instance: (local_atom, [id,] step, kind, outcome).
using local_atom = caf::atom_constant<caf::atom("sg_local")>;
/// Coordinator -> instance: resend what the steps wait for (after recovery or a crash).
using resume_atom = caf::atom_constant<caf::atom("sg_resume")>;
/// Coordinator (sweep) -> instance: passivate if idle for passivate_after.
using passivate_atom = caf::atom_constant<caf::atom("sg_passiv")>;
/// Instance -> coordinator: (inst_idle_atom, id, handled events, state copy) -> bool.
using inst_idle_atom = caf::atom_constant<caf::atom("sg_idle")>;
/// Instance -> coordinator: (inst_finished_atom, final state), then it stops.
using inst_finished_atom = caf::atom_constant<caf::atom("sg_fin")>;
/// Instance -> coordinator: (inst_released_atom, id): not this node's any more.
using inst_released_atom = caf::atom_constant<caf::atom("sg_rel")>;

/// What a coordinator and its instances share (read-only after construction).
struct saga_context {
  saga_context(saga_definition d, coordinator_options o)
      : def(std::move(d)), opts(std::move(o)), machine(def) {
    for (const auto& st : def.steps)
      names.push_back(st.decl.name);
  }
  saga_context(const saga_context&) = delete;
  saga_context& operator=(const saga_context&) = delete;

  micros now() const { return to_micros(opts.clock()); }

  saga_definition def;
  coordinator_options opts;
  detail::machine machine; // refers to def
  std::vector<std::string> names;
};

/// Spawns the instance of saga `id`. With `state` it starts from it (a passivated or
/// recovered saga); without, it waits for a start message, or (`load`) reads the saga
/// from the store first, keeping the events that arrive meanwhile in order.
caf::actor spawn_instance(caf::actor_system& sys, std::shared_ptr<const saga_context> ctx,
                          caf::actor coordinator, std::string id,
                          std::optional<saga_state> state, bool load);

} // namespace phoenix::sagas::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::sagas::saga_state)
