#include "client_options.hpp"
#include "commands.hpp"
#include "phoenix/actors/policies/dlq.hpp"
#include "phoenix/persistence/store.hpp"
#include "phoenix/runtime/config.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace phoenix::app {
namespace {

struct dlq_options {
  std::string config;
  std::vector<std::string> properties; // -X key=value
  std::string topic;
  std::size_t limit = 100;
  std::vector<std::string> filters;
  int timeout_ms = 30000;
};

int failure(const char* verb, const phoenix::error& e) {
  std::cerr << "phoenix dlq " << verb << ": " << e.message() << '\n';
  return e.code() == runtime::errc::kafka_error ? exit_failed : exit_usage;
}

// Bytes as text for a table cell: printable ASCII as is, the rest as \xNN; cut at `max`.
std::string printable(const std::string& s, std::size_t max) {
  std::ostringstream out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\t')
      out << c;
    else
      out << "\\x" << std::hex << std::setw(2) << std::setfill('0') << int{c} << std::dec;
  }
  auto text = out.str();
  return text.size() > max ? text.substr(0, max - 3) + "..." : text;
}

std::string utc(std::int64_t ms) {
  if (ms < 0)
    return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0')
      << ms % 1000 << 'Z';
  return out.str();
}

int run_list(const dlq_options& o) {
  auto props = client_properties(o.config, o.properties);
  if (!props)
    return failure("list", props.error());
  auto records = policies::read_dlq(*props, o.config.empty() ? "-X" : o.config, o.topic,
                                    o.limit, std::chrono::milliseconds{o.timeout_ms});
  if (!records)
    return failure("list", records.error());
  std::cout << "partition\toffset\tkey\terror\tattempts\toriginal\tfirst_failure\tnode\t"
               "message\n";
  for (auto& r : *records) {
    const auto& m = r.marks;
    std::cout << r.partition << '\t' << r.offset << '\t'
              << (r.null_key ? "(null)" : printable(r.key, 40)) << '\t'
              << (m.error_class.empty() ? "-" : m.error_class) << '\t' << m.attempts << '\t'
              << m.original_topic << '[' << m.original_partition << "]@"
              << m.original_offset << '\t' << utc(m.first_failure_ms) << '\t'
              << (m.node_id.empty() ? "-" : m.node_id) << '\t'
              << printable(m.error_message, 120) << '\n';
  }
  std::cerr << "phoenix dlq list: " << records->size() << " record(s) of "
            << policies::dlq_topic(o.topic) << '\n';
  return 0;
}

// The replays go into the journeys of their messages (`phoenix trace`), in the store of
// the node config given with --config when its traceability is on. The records are
// already published: a store that cannot take the rows is a warning, not a failure.
void record_replays(const dlq_options& o, const policies::replay_counts& counts) {
  if (o.config.empty() || counts.records.empty())
    return;
  auto warn = [](const std::string& why) {
    std::cerr << "phoenix dlq replay: warning: replays not recorded for phoenix trace: "
              << why << '\n';
  };
  auto cfg = runtime::load_config(o.config);
  if (!cfg)
    return warn(cfg.error().message());
  auto store_cfg = persistence::store_config_from(cfg->store, cfg->origin);
  if (!store_cfg)
    return warn(store_cfg.error().message());
  if (!store_cfg->traceability)
    return;
  auto db = persistence::open_store(*store_cfg);
  if (!db)
    return warn(db.error().message());
  persistence::store_request req;
  const auto now = std::chrono::system_clock::now();
  for (const auto& r : counts.records) {
    persistence::trace_record row;
    row.key.value = r.message_id;
    row.topic = policies::dlq_topic(o.topic);
    row.partition = r.dlq_partition;
    row.offset = r.dlq_offset;
    row.stage = "replayed";
    row.node = cfg->node.id;
    row.detail = "to " + r.to + " by phoenix dlq replay";
    row.at = r.sent_at; // before the consumer can receive it again
    req.ops.emplace_back(persistence::trace_op{std::move(row)});
  }
  auto applied = (*db)->apply({std::move(req)}, now);
  if (!applied)
    return warn(applied.error().message());
  if (!applied->front())
    warn(applied->front().error().message());
}

int run_replay(const dlq_options& o) {
  auto filter = policies::dlq_filter::parse(o.filters);
  if (!filter)
    return failure("replay", filter.error());
  auto props = client_properties(o.config, o.properties);
  if (!props)
    return failure("replay", props.error());
  auto counts = policies::replay_dlq(*props, o.config.empty() ? "-X" : o.config, o.topic,
                                     *filter, std::chrono::milliseconds{o.timeout_ms});
  if (!counts)
    return failure("replay", counts.error());
  std::cout << "read " << counts->read << ", matched " << counts->matched << ", replayed "
            << counts->replayed << '\n';
  record_replays(o, *counts);
  return 0;
}

CLI::App* add_verb(CLI::App& parent, const char* name, const char* about,
                   const std::shared_ptr<dlq_options>& o) {
  CLI::App* cmd = parent.add_subcommand(name, about);
  add_client_options(*cmd, o->config, o->properties);
  cmd->add_option("-t,--topic", o->topic, "The original topic; its DLQ is <topic>.dlq")
      ->required();
  cmd->add_option("--timeout-ms", o->timeout_ms, "How long to wait for the cluster")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  return cmd;
}

} // namespace

void add_dlq_command(CLI::App& app, int& exit_code) {
  CLI::App* dlq = app.add_subcommand(
      "dlq", "Inspect and replay a topic's dead-letter queue (<topic>.dlq).\n"
             "Records reach it after their attempts, retry topics included, or at once\n"
             "when undecodable; each keeps its original key, value and headers and adds\n"
             "phoenix-error-class, -error-message, -attempts, -original-topic/-partition/\n"
             "-offset, -first-failure-ms and -node-id.");
  dlq->require_subcommand(1);
  auto list = std::make_shared<dlq_options>();
  add_verb(*dlq, "list",
           "Print the DLQ's records as a table (tab-separated), oldest first per "
           "partition; reads without a consumer group, so nothing is committed",
           list)
      ->callback([list, &exit_code] { exit_code = run_list(*list); })
      ->add_option("-n,--limit", list->limit, "At most this many records (0: all)")
      ->capture_default_str();
  auto replay = std::make_shared<dlq_options>();
  add_verb(*dlq, "replay",
           "Publish the DLQ's records (those the filters take) again to their original "
           "topic with their original key, value and headers; the DLQ is left as it is",
           replay)
      ->callback([replay, &exit_code] { exit_code = run_replay(*replay); })
      ->add_option("-f,--filter", replay->filters,
                   "Only records with FIELD=VALUE, FIELD one of key, error (error class), "
                   "partition and offset (original position), node, id (ce_id); "
                   "repeatable, all must hold")
      ->type_name("FIELD=VALUE");
  dlq->footer(
      "Examples:\n"
      "  phoenix dlq list --config node.toml --topic orders --limit 20\n"
      "  phoenix dlq replay --config node.toml --topic orders --filter error=crash\n"
      "  phoenix dlq replay --config node.toml --topic orders --filter key=lead-42\n"
      "Replay is idempotent with the idempotent consumer: a record whose key is already\n"
      "complete is skipped, so a second replay changes nothing. Exit codes: 0 done,\n"
      "1 the cluster refused or did not answer, 2 a usage or config error (unknown\n"
      "topic, bad filter).");
}

} // namespace phoenix::app
