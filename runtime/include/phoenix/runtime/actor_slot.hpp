#pragma once

#include "phoenix/runtime/supervisor.hpp"

#include <caf/actor.hpp>
#include <memory>
#include <mutex>

namespace phoenix::runtime {

/// The current incarnation of a supervised actor. A supervisor restarts a child as a new
/// actor with a new handle; code that has to reach it (a bus publishing through the
/// producer, a tool, a test) reads the slot instead of keeping a handle that may be dead.
/// Thread-safe.
class actor_slot {
public:
  /// The handle of the latest start; null before the first. It may name an actor that
  /// has exited and not yet been restarted: a request to it fails with
  /// `request_receiver_down`, a message to it is dropped.
  caf::actor get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return actor_;
  }

  void set(caf::actor actor) {
    std::lock_guard<std::mutex> guard{mtx_};
    actor_ = std::move(actor);
  }

private:
  mutable std::mutex mtx_;
  caf::actor actor_;
};

/// `spec` with a start function that also records every new incarnation in `slot`.
child_spec track(child_spec spec, std::shared_ptr<actor_slot> slot);

} // namespace phoenix::runtime
