#pragma once

namespace CLI {
class App;
}

namespace phoenix::app {

// Each `phoenix` subcommand lives in its own cmd_<name>.cpp and registers itself on the
// top-level CLI11 app. A command stores its process exit code in `exit_code`.

void add_run_command(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_mock_cluster_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
/// `phoenix bench saga`, added by add_bench_command (cmd_bench_saga.cpp).
void add_bench_saga(CLI::App& bench, int& exit_code);
void add_acl_command(CLI::App& app, int& exit_code);
void add_sagas_command(CLI::App& app, int& exit_code);
void add_trace_command(CLI::App& app, int& exit_code);
void add_dlq_command(CLI::App& app, int& exit_code);

} // namespace phoenix::app
