#include "phoenix/runtime/actor_slot.hpp"

namespace phoenix::runtime {

child_spec track(child_spec spec, std::shared_ptr<actor_slot> slot) {
  spec.start = [start = std::move(spec.start),
                slot = std::move(slot)](caf::actor_system& sys) -> result<caf::actor> {
    auto started = start(sys);
    if (started)
      slot->set(*started);
    return started;
  };
  return spec;
}

} // namespace phoenix::runtime
