#pragma once

#include "phoenix/actors/kafka/mock_cluster.hpp"
#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <optional>
#include <vector>

namespace phoenix::app {

/// Loads the config (or the defaults when `path` is empty), validates `[kafka]` with
/// librdkafka, and sets up logging. Errors name the file and the key.
result<runtime::node_config> load_node_config(const std::string& path);

/// The embedded mock cluster when no broker is configured: started with
/// `[embedded] brokers`, and `bootstrap.servers` set to it in `cfg.kafka`.
result<std::optional<kafka::mock_cluster>> start_embedded_kafka(runtime::node_config& cfg);

/// The node's supervision tree (DESIGN.md §4). Children whose capability has not landed
/// yet are empty supervisors, so the tree's shape and stop order are already the final
/// ones: store, kafka (the given consumers), sagas.
runtime::supervisor_spec node_tree(const runtime::node_config& cfg,
                                   std::vector<runtime::child_spec> kafka_children);

} // namespace phoenix::app
