#include "commands.hpp"
#include "node_tree.hpp"
#include "phoenix/persistence/store.hpp"
#include "phoenix/sagas/state.hpp"

#include <CLI/CLI.hpp>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

namespace phoenix::app {
namespace {

struct sagas_options {
  std::string config;
  std::string state;
  std::size_t limit = 1000;
  std::string id;
};

std::string iso_time(sagas::micros us) {
  if (us == 0)
    return {};
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>((us / 1000) % 1000));
  return std::string{buf} + frac;
}

result<std::unique_ptr<persistence::store>> open_configured_store(const std::string& path) {
  auto cfg = load_node_config(path);
  if (!cfg)
    return cfg.error();
  auto store_cfg = persistence::store_config_from(cfg->store, cfg->origin);
  if (!store_cfg)
    return store_cfg.error();
  return persistence::open_store(*store_cfg);
}

int list_sagas(const sagas_options& opt) {
  if (!opt.state.empty() && !sagas::saga_status_from(opt.state)) {
    std::cerr << "phoenix: --state: unknown saga state '" << opt.state
              << "' (one of running, compensating, completed, compensated, "
                 "compensation_failed)\n";
    return 2;
  }
  auto db = open_configured_store(opt.config);
  if (!db) {
    std::cerr << "phoenix: " << db.error().message() << '\n';
    return 2;
  }
  auto rows = (*db)->list_sagas(opt.state, opt.limit);
  if (!rows) {
    std::cerr << "phoenix: " << rows.error().message() << '\n';
    return 1;
  }
  for (const auto& r : *rows) {
    auto st = sagas::from_record(r);
    std::cout << r.id.value << '\t' << r.type << '\t' << r.status << '\t'
              << iso_time(sagas::to_micros(r.updated_at)) << '\t'
              << (st ? st->last_error : st.error().message()) << '\n';
  }
  std::cerr << rows->size() << " saga(s)" << (rows->size() == opt.limit ? " (--limit)" : "")
            << '\n';
  return 0;
}

int show_saga(const sagas_options& opt) {
  auto db = open_configured_store(opt.config);
  if (!db) {
    std::cerr << "phoenix: " << db.error().message() << '\n';
    return 2;
  }
  auto row = (*db)->load_saga({opt.id});
  if (!row) {
    std::cerr << "phoenix: " << row.error().message() << '\n';
    return 1;
  }
  if (!*row) {
    std::cerr << "phoenix: no saga with id '" << opt.id << "'\n";
    return 1;
  }
  const auto& r = **row;
  auto st = sagas::from_record(r);
  auto names = sagas::step_names_of(r);
  if (!st || !names) {
    std::cerr << "phoenix: " << (st ? names.error() : st.error()).message() << '\n';
    return 1;
  }
  nlohmann::json steps = nlohmann::json::array();
  for (std::size_t i = 0; i < st->steps.size(); ++i)
    steps.push_back({{"step", (*names)[i]},
                     {"state", sagas::to_string(st->steps[i].status)},
                     {"attempts", st->steps[i].attempts},
                     {"at", iso_time(st->steps[i].at)}});
  nlohmann::json out{{"id", st->id},
                     {"type", st->type},
                     {"state", sagas::to_string(st->status)},
                     {"version", st->version},
                     {"topic", st->topic},
                     {"partition", st->partition},
                     {"created", iso_time(st->created)},
                     {"updated", iso_time(st->updated)},
                     {"last_error", st->last_error},
                     {"steps", steps}};
  std::cout << out.dump(2) << '\n';
  return 0;
}

} // namespace

void add_sagas_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<sagas_options>();
  auto* cmd = app.add_subcommand("sagas", "Inspect the sagas kept in the node's store");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand(
      "list", "One line per saga: id, type, state, last update (UTC), last error. Ordered "
              "by id.");
  list->add_option("--state", opt->state,
                   "Only sagas in this state: running, compensating, completed, "
                   "compensated, compensation_failed");
  list->add_option("--limit", opt->limit, "At most this many")->capture_default_str();
  list->add_option("-c,--config", opt->config, "Node config file (TOML); its [store]")
      ->check(CLI::ExistingFile);
  list->callback([opt, &exit_code] { exit_code = list_sagas(*opt); });
  auto* show = cmd->add_subcommand(
      "show", "One saga as JSON: state, steps with their states, attempts and times (UTC), "
              "last error");
  show->add_option("id", opt->id, "Saga id")->required();
  show->add_option("-c,--config", opt->config, "Node config file (TOML); its [store]")
      ->check(CLI::ExistingFile);
  show->callback([opt, &exit_code] { exit_code = show_saga(*opt); });
}

} // namespace phoenix::app
