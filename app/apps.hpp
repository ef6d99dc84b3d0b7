#pragma once

#include "node_tree.hpp"
#include "phoenix/actors/kafka/mock_cluster.hpp"
#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <functional>
#include <memory>
#include <vector>

namespace phoenix::app {

/// An application that `phoenix run` runs inside the node (`[app] name`): its children
/// for the sagas and kafka supervisors, and what to do once the node stopped (if
/// anything).
struct app_instance {
  std::vector<runtime::child_spec> saga_children;
  std::vector<runtime::child_spec> kafka_children; ///< After the node's producer and bus.
  std::function<void()> after_stop;
  std::shared_ptr<void> state; ///< What the children refer to; lives as long as they.
};

/// Checks `[app]` and the chosen application's `[app.<name>]` without starting anything
/// (no `[app]`: nothing to check). Errors: `<file>: [app] name: unknown application
/// "x" (known: lead-pipeline)`, an unknown key, a wrong type or a bad value, naming the
/// file, the section and the key.
result<void> check_app(const runtime::node_config& cfg);

/// The application of `[app]` (none without it), wired to the node's services: its
/// consumers are idempotent through the node's store, guarded by its breakers and tenant
/// limits, follow `[policy]` and report to `/metrics` and `/ready`. On the embedded
/// cluster (`embedded` set) it creates its topics there; on a real cluster they must
/// exist. Errors: as check_app, and a topic the embedded cluster refuses.
/// It sends through the node's producer (`handles.producer`).
result<app_instance> make_app(const runtime::node_config& cfg, node_services& svc,
                              const node_handles& handles, kafka::mock_cluster* embedded);

} // namespace phoenix::app
