#include "commands.hpp"
#include "phoenix/runtime/allocator.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"Phoenix: resilient event processing on Apache Kafka, built on actors.\n"
               "Run `phoenix <command> --help` for a command's options.",
               "phoenix"};
  app.set_version_flag(
      "--version", "phoenix 0.1.0 (malloc: " + phoenix::runtime::allocator_name() + ")");
  int exit_code = 0;
  phoenix::app::add_run_command(app, exit_code);
  phoenix::app::add_demo_command(app, exit_code);
  phoenix::app::add_mock_cluster_command(app, exit_code);
  phoenix::app::add_bench_command(app, exit_code);
  phoenix::app::add_acl_command(app, exit_code);
  phoenix::app::add_sagas_command(app, exit_code);
  phoenix::app::add_trace_command(app, exit_code);
  phoenix::app::add_dlq_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message; every usage error exits 2, as the commands' own do.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << app.help() << "phoenix: a command is required\n";
    return 2;
  }
  return exit_code;
}
