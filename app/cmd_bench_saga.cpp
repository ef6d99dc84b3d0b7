#include "commands.hpp"
#include "phoenix/bench/saga.hpp"
#include "phoenix/runtime/logging.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

namespace phoenix::app {
namespace {

struct bench_saga_options {
  bench::saga_options run;
  std::string out = "bench-saga.json";
};

int run_bench_saga(const bench_saga_options& opt) {
  runtime::configure_logging({}, "bench");
  auto report = bench::run_saga(opt.run);
  if (!report) {
    std::cerr << "phoenix: " << report.error().message() << '\n';
    return report.error().code() == runtime::errc::invalid_argument ? 2 : 1;
  }
  std::ostringstream cmd;
  cmd << "phoenix bench saga --sagas " << opt.run.sagas << " --in-flight "
      << opt.run.in_flight << " --idle " << opt.run.idle << " --rounds " << opt.run.rounds
      << " --store-window-us " << opt.run.store_window_us << " --relay-rounds "
      << opt.run.relay_rounds << " --out " << opt.out;
  if (!opt.run.sqlite_path.empty())
    cmd << " --sqlite-path " << opt.run.sqlite_path;
  report->command = cmd.str();
  std::ofstream file{opt.out};
  file << bench::to_json(*report) << '\n';
  if (!file.flush()) {
    std::cerr << "phoenix: bench saga: cannot write the report to " << opt.out << '\n';
    return 1;
  }
  std::cout << bench::summary_line(*report) << "; report " << opt.out << std::endl;
  if (!report->error.empty()) {
    std::cerr << "phoenix: bench saga: " << report->error << '\n';
    return 1;
  }
  return 0;
}

} // namespace

void add_bench_saga(CLI::App& bench, int& exit_code) {
  auto opt = std::make_shared<bench_saga_options>();
  auto* cmd = bench.add_subcommand(
      "saga",
      "Run 3-step sagas through the coordinator, the outbox relay and the group-commit\n"
      "store actor on SQLite, with in-process participants that answer at once: sagas/s\n"
      "and p50/p99 saga duration per round, then the RSS growth per idle in-flight saga\n"
      "(first step never answered). Writes JSON and prints one line.");
  cmd->add_option("--sagas", opt->run.sagas, "Sagas per round")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10000000}));
  cmd->add_option("--in-flight", opt->run.in_flight, "Unfinished sagas at most")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10000000}));
  cmd->add_option("--idle", opt->run.idle, "Idle sagas for the memory measure (0: skip)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{10000000}));
  cmd->add_option("--rounds", opt->run.rounds, "Rounds")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--store-window-us", opt->run.store_window_us,
                  "The store actor's group-commit window ([store] batch_window_us)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000}));
  cmd->add_option("--relay-rounds", opt->run.relay_rounds,
                  "Outbox relay rounds in flight at once (1: one after the other)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{64}));
  cmd->add_option("--sqlite-path", opt->run.sqlite_path,
                  "SQLite file (default: one in a temporary directory)");
  cmd->add_option("-o,--out", opt->out, "JSON report file")->capture_default_str();
  cmd->callback([opt, &exit_code] { exit_code = run_bench_saga(*opt); });
}

} // namespace phoenix::app
