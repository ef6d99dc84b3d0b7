#include "commands.hpp"
#include "phoenix/persistence/store.hpp"
#include "phoenix/runtime/config.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace phoenix::app {
namespace {

// Exit codes: 0 rows printed, 1 no row for the id, 2 usage, config or store errors.
constexpr int exit_none = 1;
constexpr int exit_usage = 2;

struct trace_options {
  std::string config;
  std::string id;
  bool json = false;
};

std::string iso_time(persistence::time_point t) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(us / 1000 % 1000));
  return buf;
}

std::string position(const persistence::trace_record& r) {
  if (r.topic.empty())
    return "-";
  std::string out = r.topic;
  if (r.partition >= 0)
    out += '[' + std::to_string(r.partition) + ']';
  if (r.offset >= 0)
    out += '@' + std::to_string(r.offset);
  return out;
}

int run_trace(const trace_options& o) {
  auto cfg = o.config.empty() ? runtime::parse_config("", "<defaults>")
                              : runtime::load_config(o.config);
  if (!cfg) {
    std::cerr << "phoenix trace: " << cfg.error().message() << '\n';
    return exit_usage;
  }
  auto store_cfg = persistence::store_config_from(cfg->store, cfg->origin);
  if (!store_cfg) {
    std::cerr << "phoenix trace: " << store_cfg.error().message() << '\n';
    return exit_usage;
  }
  auto db = persistence::open_store(*store_cfg);
  if (!db) {
    std::cerr << "phoenix trace: " << db.error().message() << '\n';
    return exit_usage;
  }
  auto rows = (*db)->traces(persistence::idempotency_key{o.id});
  if (!rows) {
    std::cerr << "phoenix trace: " << rows.error().message() << '\n';
    return exit_usage;
  }
  if (rows->empty()) {
    std::cerr << "phoenix trace: no trace of message '" << o.id << "' in the "
              << (*db)->backend() << " store (traceability off, purged after "
              << store_cfg->retention.count() << " h, or never seen)\n";
    return exit_none;
  }
  const auto first = rows->front().at;
  if (o.json) {
    for (const auto& r : *rows)
      std::cout << nlohmann::json{{"at", iso_time(r.at)},     {"stage", r.stage},
                                  {"node", r.node},           {"topic", r.topic},
                                  {"partition", r.partition}, {"offset", r.offset},
                                  {"detail", r.detail}}
                       .dump()
                << '\n';
    return 0;
  }
  std::printf("%-24s %10s  %-18s %-12s %-28s %s\n", "TIME", "+MS", "STAGE", "NODE",
              "POSITION", "DETAIL");
  for (const auto& r : *rows) {
    auto since = std::chrono::duration<double, std::milli>(r.at - first).count();
    std::printf("%-24s %10.1f  %-18s %-12s %-28s %s\n", iso_time(r.at).c_str(), since,
                r.stage.c_str(), r.node.c_str(), position(r).c_str(), r.detail.c_str());
  }
  return 0;
}

} // namespace

void add_trace_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<trace_options>();
  auto* cmd = app.add_subcommand(
      "trace",
      "Print the journey of one message: every stage the nodes recorded for it\n"
      "(received, handled, duplicate, retried, crashed, retry-topic, dead-lettered,\n"
      "given-up, produced, replayed, and saga:<status> for the transitions of the saga it\n"
      "started), oldest first, with node, topic[partition]@offset and the time since the\n"
      "first row. Reads the store named by --config's [store] section (default: SQLite\n"
      "phoenix.db in the working directory). The id is the message's CloudEvents id\n"
      "(ce_id), or topic/partition/offset for a record that is no valid envelope.\n"
      "Exit codes: 0 printed, 1 no row for the id, 2 usage, config or store errors.");
  cmd->add_option("message-id", opts->id, "CloudEvents id (ce_id) of the message")
      ->required();
  cmd->add_option("--config", opts->config, "Node config file whose [store] to read")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", opts->json, "One JSON object per row instead of a table");
  cmd->callback([opts, &exit_code] { exit_code = run_trace(*opts); });
}

} // namespace phoenix::app
