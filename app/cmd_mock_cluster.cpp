#include "commands.hpp"
#include "phoenix/actors/kafka/mock_cluster.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <pthread.h>
#include <set>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <string>
#include <system_error>
#include <vector>

namespace phoenix::app {
namespace {

// Exit codes: usage errors as most Unix tools; a cluster that cannot start is 1.
constexpr int exit_usage = 2;
constexpr int exit_failure = 1;

struct mock_cluster_options {
  std::string brokers = "3";
  std::vector<std::string> topics;
};

struct topic_spec {
  std::string name;
  int partitions = 0;
};

// A full-string decimal number in [1, max], else nothing.
std::optional<int> parse_positive(const std::string& text, int max) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < 1 || value > max)
    return std::nullopt;
  return value;
}

bool legal_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..")
    return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

// Parses `--topic NAME:PARTITIONS`; on failure writes why to stderr.
std::optional<topic_spec> parse_topic(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    std::cerr << "phoenix mock-cluster: --topic '" << text
              << "': expected NAME:PARTITIONS, e.g. orders:3\n";
    return std::nullopt;
  }
  topic_spec spec;
  spec.name = text.substr(0, colon);
  const std::string count = text.substr(colon + 1);
  if (!legal_topic_name(spec.name)) {
    std::cerr << "phoenix mock-cluster: --topic '" << text << "': topic name '" << spec.name
              << "' must be 1-249 characters of [a-zA-Z0-9._-]\n";
    return std::nullopt;
  }
  auto partitions = parse_positive(count, 100000);
  if (!partitions) {
    std::cerr << "phoenix mock-cluster: --topic '" << text << "': partition count '"
              << count << "' must be a whole number from 1 to 100000\n";
    return std::nullopt;
  }
  spec.partitions = *partitions;
  return spec;
}

int run_mock_cluster(const mock_cluster_options& opts) {
  auto brokers = parse_positive(opts.brokers, 1000);
  if (!brokers) {
    std::cerr << "phoenix mock-cluster: --brokers '" << opts.brokers
              << "' must be a whole number from 1 to 1000\n";
    return exit_usage;
  }
  std::vector<topic_spec> topics;
  std::set<std::string> names;
  for (const auto& text : opts.topics) {
    auto spec = parse_topic(text);
    if (!spec)
      return exit_usage;
    if (!names.insert(spec->name).second) {
      std::cerr << "phoenix mock-cluster: --topic '" << text << "': topic '" << spec->name
                << "' given twice\n";
      return exit_usage;
    }
    topics.push_back(*spec);
  }

  spdlog::logger log{"mock-cluster",
                     std::make_shared<spdlog::sinks::stderr_color_sink_mt>()};

  // Block the stop signals before librdkafka starts its threads, which inherit the mask,
  // so that only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  int code = 0;
  {
    auto cluster = kafka::mock_cluster::start(*brokers);
    if (!cluster) {
      log.error("cannot start the mock cluster: {}", cluster.error().describe());
      code = exit_failure;
    }
    for (const auto& t : topics) {
      if (code != 0)
        break;
      if (auto res = cluster->create_topic(t.name, t.partitions); !res) {
        log.error("cannot create topic {}: {}", t.name, res.error().describe());
        code = exit_failure;
      }
    }
    if (code == 0) {
      std::cout << cluster->bootstrap_servers() << std::endl; // first line, flushed
      log.info("mock Kafka cluster with {} broker(s) at {}", *brokers,
               cluster->bootstrap_servers());
      for (const auto& t : topics)
        log.info("topic {} with {} partition(s)", t.name, t.partitions);
      log.info("running until SIGINT (Ctrl-C) or SIGTERM");
      int sig = 0;
      while (sigwait(&stop_signals, &sig) != 0) {
      }
      log.info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
  } // the cluster stops here
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (code == 0)
    log.info("stopped");
  return code;
}

} // namespace

void add_mock_cluster_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<mock_cluster_options>();
  CLI::App* cmd = app.add_subcommand(
      "mock-cluster",
      "Run librdkafka's in-process mock Kafka cluster for development and tests.\n"
      "Prints the bootstrap servers as the first line on stdout, logs to stderr, and\n"
      "runs until SIGINT (Ctrl-C) or SIGTERM. Data lives in memory only.");
  cmd->add_option("--brokers", opts->brokers,
                  "Number of mock brokers, ids 1..N (default 3)")
      ->type_name("N");
  cmd->add_option(
         "--topic", opts->topics,
         "Create a topic with replication factor 1; repeatable, e.g. --topic orders:6")
      ->type_name("NAME:PARTITIONS");
  cmd->footer(
      "Example:\n"
      "  phoenix mock-cluster --brokers 1 --topic orders:3 --topic orders.dlq:1\n"
      "Exit codes: 0 after SIGINT/SIGTERM, 1 if the cluster cannot start, 2 for a bad\n"
      "option value.");
  cmd->callback([opts, &exit_code] { exit_code = run_mock_cluster(*opts); });
}

} // namespace phoenix::app
