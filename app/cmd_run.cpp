#include "apps.hpp"
#include "commands.hpp"
#include "node_tree.hpp"
#include "phoenix/runtime/node_runner.hpp"

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::app {
namespace {

// How long the actor system may take to shut down once the tree has stopped in order.
constexpr std::chrono::seconds teardown_bound{10};

// librdkafka 2.0.2 can block for good destroying a consumer whose partitions left the
// metadata while it consumed them (ACLs revoked; tests/README.md "Known limits"), and
// the actor system's shutdown then waits on it. Everything was stopped, committed and
// closed by then, so the process ends with the node's exit code regardless.
void arm_teardown_watchdog(int exit_code) {
  std::thread([exit_code] {
    std::this_thread::sleep_for(teardown_bound);
    spdlog::error("node: shutdown still waiting after {} s, on a Kafka client that "
                  "librdkafka does not destroy; exiting without it",
                  teardown_bound.count());
    spdlog::default_logger()->flush();
    std::_Exit(exit_code);
  }).detach();
}

} // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "run", "Run a node: boot the supervision tree and serve until SIGTERM/SIGINT.\n"
             "/health, /ready and /metrics are served at [http] listen (default\n"
             "127.0.0.1:9464). Without `bootstrap.servers` under [kafka], the node\n"
             "starts an embedded in-process mock cluster. Exit codes: 0 stopped,\n"
             "1 failed, 2 bad config or start failure. [app] name chooses the\n"
             "application the node runs (lead-pipeline; see app/README.md).");
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
    if (auto ok = check_app(*cfg); !ok) {
      std::cerr << "phoenix: " << ok.error().message() << '\n';
      exit_code = 2;
      return;
    }
    auto cluster = start_embedded_kafka(*cfg);
    if (!cluster) {
      std::cerr << "phoenix: " << cluster.error().describe() << '\n';
      exit_code = 2;
      return;
    }
    // The listener binds before the tree starts: a port in use or a bad certificate
    // stops the node with exit code 2 before it takes any work.
    auto svc = make_node_services(*cfg, true);
    if (!svc) {
      std::cerr << "phoenix: " << svc.error().message() << '\n';
      exit_code = 2;
      return;
    }
    caf::actor_system_config sys_cfg;
    runtime::configure_scheduler(sys_cfg);
    caf::actor_system sys{sys_cfg};
    runtime::node_run_options opts;
    opts.shutdown_timeout = cfg->node.shutdown_timeout;
    opts.on_started = [health = svc->health](const caf::actor&) {
      health->set_tree_up(true);
    };
    // Not ready from the signal on: traffic moves elsewhere while the tree drains.
    auto running = svc->ready->add_flag("node", {true, "running"});
    opts.on_stopping = [running] { running->set(false, "stopping"); };
    node_handles handles;
    auto kafka_children = bus_children(*cfg, cluster->has_value(), handles, *svc);
    auto app = make_app(*cfg, *svc, handles, *cluster ? &**cluster : nullptr);
    if (!app) {
      std::cerr << "phoenix: " << app.error().message() << '\n';
      exit_code = 2;
      return;
    }
    for (auto& child : app->kafka_children)
      kafka_children.push_back(std::move(child));
    exit_code = static_cast<int>(runtime::run_node(
        sys, node_tree(*cfg, *svc, kafka_children, std::move(app->saga_children)), opts));
    svc->health->set_tree_up(false);
    if (app->after_stop)
      app->after_stop();
    arm_teardown_watchdog(exit_code); // before `sys` and the Kafka handles go
  });
}

} // namespace phoenix::app
