#include "commands.hpp"
#include "phoenix/bench/consume.hpp"
#include "phoenix/bench/report.hpp"
#include "phoenix/bench/store.hpp"
#include "phoenix/runtime/logging.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace phoenix::app {
namespace {

// Exit codes: 0 the run completed (whether or not the goal was met), 1 a round failed or
// the setup did (cluster, producing, writing the report), 2 usage errors.
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

struct bench_consume_options {
  bench::consume_options run;
  std::string out = "bench-consume.json";
};

// The command that repeats this run, with every default spelled out (the partition
// count included, since it is computed from the others).
std::string command_line(const bench::consume_options& o, int partitions,
                         const std::string& out) {
  std::ostringstream cmd;
  cmd << "phoenix bench consume --records " << o.records << " --partitions " << partitions
      << " --value-bytes " << o.value_bytes << " --rounds " << o.rounds << " --brokers "
      << o.brokers << " --out " << out;
  if (o.max_in_flight > 0)
    cmd << " --max-in-flight " << o.max_in_flight;
  if (o.keep_going)
    cmd << " --keep-going";
  return cmd.str();
}

int run_bench_consume(const bench_consume_options& opt) {
  runtime::configure_logging({}, "bench");
  auto report = bench::run_consume(opt.run);
  if (!report) {
    std::cerr << "phoenix: " << report.error().message() << '\n';
    return report.error().code() == runtime::errc::invalid_argument ? exit_usage
                                                                    : exit_failed;
  }
  report->command = command_line(opt.run, report->partitions, opt.out);
  {
    std::ofstream file{opt.out};
    file << bench::to_json(*report) << '\n';
    if (!file.flush()) {
      std::cerr << "phoenix: bench consume: cannot write the report to " << opt.out << '\n';
      return exit_failed;
    }
  }
  std::cout << bench::summary_line(*report) << "; report " << opt.out << std::endl;
  if (report->failed()) {
    for (std::size_t i = 0; i < report->rounds.size(); ++i)
      if (!report->rounds[i].ok())
        std::cerr << "phoenix: bench consume: round " << i + 1
                  << " failed: " << report->rounds[i].error << '\n';
    return exit_failed;
  }
  return 0;
}

struct bench_store_options {
  bench::store_options run;
  double max_seconds = 5;
  std::string out = "bench-store.json";
};

std::string command_line(const bench_store_options& o) {
  std::ostringstream cmd;
  cmd << "phoenix bench store";
  for (auto& b : o.run.backends)
    cmd << " --backend " << b;
  for (auto b : o.run.batches)
    cmd << " --batch " << b;
  cmd << " --existing " << o.run.existing << " --keys " << o.run.keys << " --max-seconds "
      << o.max_seconds << " --rounds " << o.run.rounds << " --synchronous "
      << o.run.synchronous << " --key-order " << o.run.key_order << " --keys-per-request "
      << o.run.keys_per_request;
  if (!o.run.sqlite_path.empty())
    cmd << " --sqlite-path " << o.run.sqlite_path;
  if (!o.run.postgres_dsn.empty())
    cmd << " --postgres '<dsn>'"; // may hold a password
  cmd << " --out " << o.out;
  return cmd.str();
}

int run_bench_store(bench_store_options opt) {
  runtime::configure_logging({}, "bench");
  opt.run.max_time = std::chrono::milliseconds{static_cast<long>(opt.max_seconds * 1000)};
  auto report = bench::run_store(opt.run);
  if (!report) {
    std::cerr << "phoenix: " << report.error().message() << '\n';
    return report.error().code() == runtime::errc::invalid_argument ? exit_usage
                                                                    : exit_failed;
  }
  report->command = command_line(opt);
  {
    std::ofstream file{opt.out};
    file << bench::to_json(*report) << '\n';
    if (!file.flush()) {
      std::cerr << "phoenix: bench store: cannot write the report to " << opt.out << '\n';
      return exit_failed;
    }
  }
  std::cout << bench::summary_lines(*report) << "; report " << opt.out << std::endl;
  return report->failed() ? exit_failed : 0;
}

void add_bench_store(CLI::App& bench, int& exit_code) {
  auto opt = std::make_shared<bench_store_options>();
  auto* store = bench.add_subcommand(
      "store",
      "Claim and complete new keys in a store that already holds --existing keys: per\n"
      "backend and batch size, a hand-written sqlite3/libpqxx loop (raw) and the\n"
      "group-commit store actor (phoenix), rounds interleaved. Writes keys/s of both\n"
      "and their ratio as JSON and prints one line per measure. PostgreSQL needs\n"
      "--postgres (a scratch database, e.g. from deploy/postgres/pg-temp.sh).");
  store->add_option("--backend", opt->run.backends, "sqlite and/or postgres (repeatable)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sqlite", "postgres"}));
  store->add_option("--batch", opt->run.batches, "Keys per transaction (repeatable)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  store->add_option("--existing", opt->run.existing, "Completed keys written first")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{100000000}));
  store->add_option("--keys", opt->run.keys, "Keys per side and measurement, at most")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100000000}));
  store
      ->add_option("--max-seconds", opt->max_seconds,
                   "Per side and measurement, at most (then the next batch ends it)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 3600.0));
  store->add_option("--rounds", opt->run.rounds, "Rounds (raw then phoenix in each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  store->add_option("--synchronous", opt->run.synchronous, "SQLite synchronous, both sides")
      ->capture_default_str()
      ->check(CLI::IsMember({"normal", "full", "extra"}));
  store
      ->add_option("--key-order", opt->run.key_order,
                   "random (UUIDv4-like ids) or sequential (time-ordered ids)")
      ->capture_default_str()
      ->check(CLI::IsMember({"random", "sequential"}));
  store
      ->add_option("--keys-per-request", opt->run.keys_per_request,
                   "Keys in one request to the store actor (the pipeline: a lane batch)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  store->add_option("--sqlite-path", opt->run.sqlite_path,
                    "SQLite file (default: one in a temporary directory)");
  store->add_option("--postgres", opt->run.postgres_dsn,
                    "PostgreSQL DSN of a scratch database (without it: skipped)");
  store->add_option("-o,--out", opt->out, "JSON report file")->capture_default_str();
  store->callback([opt, &exit_code] { exit_code = run_bench_store(*opt); });
}

} // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto* bench = app.add_subcommand(
      "bench", "Measure Phoenix against raw librdkafka in the same run and write a JSON "
               "report (see bench/README.md)");
  bench->require_subcommand(1);
  add_bench_saga(*bench, exit_code);

  auto opt = std::make_shared<bench_consume_options>();
  auto* consume = bench->add_subcommand(
      "consume",
      "Produce N keyed CloudEvents records once to an embedded mock cluster, then per\n"
      "round consume all of them with a plain librdkafka loop and with the Phoenix\n"
      "pipeline (no-op handler), each in a fresh consumer group. Times each side from\n"
      "its first record to its N-th, writes both rates and their ratio as JSON, and\n"
      "prints one summary line. Exit code 0 when every round completed.");
  consume->add_option("-n,--records", opt->run.records, "Records to produce and consume")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100000000}));
  consume
      ->add_option("--partitions", opt->run.partitions,
                   "Topic partitions (default: enough that each holds at most 4 MiB, "
                   "at least 3; the mock cluster keeps only about 5 MiB per partition)")
      ->check(CLI::Range(1, 10000));
  consume->add_option("--value-bytes", opt->run.value_bytes, "Bytes of each record's value")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{512} << 10));
  consume->add_option("--rounds", opt->run.rounds, "Rounds (raw then Phoenix in each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  consume->add_option("--brokers", opt->run.brokers, "Brokers of the mock cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  consume
      ->add_option("--max-in-flight", opt->run.max_in_flight,
                   "Phoenix side: records in flight per partition before it is paused "
                   "(default: the group consumer's, 5000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  consume->add_option("-o,--out", opt->out, "JSON report file")->capture_default_str();
  consume->add_flag(
      "--keep-going", opt->run.keep_going,
      "Run the remaining rounds after a failed one (the exit code is still 1)");
  consume->callback([opt, &exit_code] { exit_code = run_bench_consume(*opt); });
  add_bench_store(*bench, exit_code);
}

} // namespace phoenix::app
