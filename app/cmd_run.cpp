#include "commands.hpp"
#include "node_tree.hpp"
#include "phoenix/runtime/node_runner.hpp"

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <iostream>

namespace phoenix::app {

void add_run_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "run", "Run a node: boot the supervision tree and serve until SIGTERM/SIGINT.\n"
             "Without `bootstrap.servers` under [kafka], the node starts an embedded\n"
             "in-process mock cluster. Exit codes: 0 stopped, 1 failed, 2 bad config or\n"
             "start failure.");
  auto path = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *path,
                  "Node config file (TOML); defaults apply without it")
      ->check(CLI::ExistingFile);
  cmd->callback([path, &exit_code] {
    runtime::block_termination_signals();
    auto cfg = load_node_config(*path);
    if (!cfg) {
      std::cerr << "phoenix: " << cfg.error().message() << '\n';
      exit_code = 2;
      return;
    }
    auto cluster = start_embedded_kafka(*cfg);
    if (!cluster) {
      std::cerr << "phoenix: " << cluster.error().describe() << '\n';
      exit_code = 2;
      return;
    }
    caf::actor_system_config sys_cfg;
    caf::actor_system sys{sys_cfg};
    runtime::node_run_options opts;
    opts.shutdown_timeout = cfg->node.shutdown_timeout;
    node_handles handles;
    auto kafka_children = bus_children(*cfg, cluster->has_value(), handles);
    exit_code =
        static_cast<int>(runtime::run_node(sys, node_tree(*cfg, kafka_children), opts));
  });
}

} // namespace phoenix::app
