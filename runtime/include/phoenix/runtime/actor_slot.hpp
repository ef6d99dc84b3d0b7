#pragma once

#include "phoenix/runtime/supervisor.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <memory>
#include <mutex>

namespace phoenix::runtime {

/// The current incarnation of a supervised actor. A supervisor restarts a child as a new
/// actor with a new handle; code that has to reach it (a bus publishing through the
/// producer, a tool, a test) reads the slot instead of keeping a handle that may be dead.
/// Thread-safe. The slot holds a weak reference: it keeps no actor alive (an actor
/// system waits for its detached actors' last references before it shuts down).
class actor_slot {
public:
  /// The handle of the latest start; null before the first start and once that
  /// incarnation is gone. It may name an actor that has exited while others still hold
  /// it: a request to it then fails with `request_receiver_down`.
  caf::actor get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return caf::actor_cast<caf::actor>(addr_);
  }

  void set(const caf::actor& actor) {
    std::lock_guard<std::mutex> guard{mtx_};
    addr_ = actor.address();
  }

private:
  mutable std::mutex mtx_;
  caf::actor_addr addr_;
};

/// `spec` with a start function that also records every new incarnation in `slot`.
child_spec track(child_spec spec, std::shared_ptr<actor_slot> slot);

} // namespace phoenix::runtime
