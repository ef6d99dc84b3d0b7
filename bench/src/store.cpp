#include "phoenix/bench/store.hpp"

#include "phoenix/persistence/store.hpp"
#include "phoenix/runtime/allocator.hpp"
#include "store_sides.hpp"

#include <cstdlib>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <thread>

namespace phoenix::bench {
namespace {

phoenix::error invalid(std::string msg) {
  return {runtime::errc::invalid_argument, "bench store: " + std::move(msg)};
}

void log_side(const store_measure& m, int round, const char* side, const store_outcome& o) {
  if (!o.error.empty())
    spdlog::error("bench store: {} batch {} round {}: {}", m.backend, m.batch, round,
                  o.error);
  else
    spdlog::info("bench store: {} batch {:>4} round {}: {:<7} {:>7} keys in {:.3f} s: "
                 "{:>7.0f} keys/s, {:.2f} us CPU a key",
                 m.backend, m.batch, round, side, o.result.records, o.result.seconds,
                 o.result.rps(),
                 o.result.records ? o.result.cpu_seconds * 1e6 / o.result.records : 0.0);
}

// A directory removed with its contents when the run ends.
struct scratch_dir {
  std::string path;
  scratch_dir() {
    auto tmpl = (std::filesystem::temp_directory_path() / "phoenix-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()))
      path = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    if (!path.empty())
      std::filesystem::remove_all(path, ec);
  }
};

// Rounds of raw then Phoenix for one backend and batch size; fresh keys every side.
store_measure measure(const persistence::store_config& cfg, std::size_t batch,
                      const store_options& opts, std::uint64_t& seed) {
  store_measure m;
  m.backend = cfg.backend;
  m.batch = batch;
  for (int round = 1; round <= opts.rounds && m.error.empty(); ++round) {
    store_load load{batch,
                    opts.keys,
                    opts.max_time,
                    {bench_key_prefix, ++seed, opts.key_order == "sequential"},
                    std::min(opts.keys_per_request, batch)};
    auto raw =
        cfg.backend == "sqlite" ? run_raw_sqlite(cfg, load) : run_raw_postgres(cfg, load);
    log_side(m, round, "raw", raw);
    if (!raw.error.empty()) {
      m.error = raw.error;
      break;
    }
    load.source.seed = ++seed;
    auto phx = run_phoenix_store(cfg, load);
    log_side(m, round, "phoenix", phx);
    if (!phx.error.empty()) {
      m.error = phx.error;
      break;
    }
    m.raw.push_back(raw.result);
    m.phoenix.push_back(phx.result);
    m.phoenix_transactions.push_back(phx.transactions);
    spdlog::info("bench store: {} batch {} round {}: ratio {:.3f}", m.backend, batch, round,
                 bench::ratio(phx.result.rps(), raw.result.rps()));
  }
  return m;
}

double median_rate(const std::vector<side_result>& xs) {
  std::vector<double> rates;
  for (auto& x : xs)
    rates.push_back(x.rps());
  return median(rates);
}

} // namespace

double store_measure::raw_median() const {
  return median_rate(raw);
}

double store_measure::phoenix_median() const {
  return median_rate(phoenix);
}

double store_measure::ratio() const {
  return bench::ratio(phoenix_median(), raw_median());
}

bool store_report::failed() const {
  for (auto& m : measures)
    if (!m.error.empty())
      return true;
  return false;
}

result<store_report> run_store(const store_options& opts) {
  if (opts.rounds < 1)
    return invalid("--rounds must be at least 1");
  if (opts.keys < 1)
    return invalid("--keys must be at least 1");
  if (opts.batches.empty())
    return invalid("--batch needs at least one size");
  for (auto b : opts.batches)
    if (b < 1 || b > 100000)
      return invalid("--batch sizes must be within 1..100000, got " + std::to_string(b));
  if (opts.keys_per_request < 1 || opts.keys_per_request > 100000)
    return invalid("--keys-per-request must be within 1..100000");
  if (opts.key_order != "random" && opts.key_order != "sequential")
    return invalid("--key-order must be random or sequential");
  for (auto& b : opts.backends)
    if (b != "sqlite" && b != "postgres")
      return invalid("unknown backend '" + b + "' (expected sqlite or postgres)");

  store_report report;
  report.existing = opts.existing;
  report.keys = opts.keys;
  report.max_time = opts.max_time;
  report.rounds = opts.rounds;
  report.synchronous = opts.synchronous;
  report.key_order = opts.key_order;
  report.keys_per_request = opts.keys_per_request;
  report.cores = std::thread::hardware_concurrency();
  report.allocator = runtime::allocator_name();

  scratch_dir dir;
  std::uint64_t seed = 0;
  for (auto& backend : opts.backends) {
    persistence::store_config cfg;
    cfg.backend = backend;
    cfg.synchronous = opts.synchronous;
    cfg.origin = "bench store";
    if (backend == "sqlite") {
      if (!opts.sqlite_path.empty())
        cfg.path = opts.sqlite_path;
      else if (!dir.path.empty())
        cfg.path = dir.path + "/bench.db";
      else
        return invalid("cannot create a temporary directory for the SQLite file");
    } else if (opts.postgres_dsn.empty()) {
      report.skipped.push_back("postgres: no --postgres DSN given");
      spdlog::warn("bench store: postgres skipped: no --postgres DSN given");
      continue;
    } else {
      cfg.dsn = opts.postgres_dsn;
    }
    if (auto ok = persistence::validate(cfg, cfg.origin); !ok)
      return invalid(ok.error().message());
    { // creates the schema
      auto db = persistence::open_store(cfg);
      if (!db)
        return db.error();
    }
    spdlog::info("bench store: {}: writing {} existing keys", backend, opts.existing);
    if (auto ok = fill_store(
            cfg, {bench_key_prefix, ++seed, opts.key_order == "sequential"}, opts.existing);
        !ok)
      return ok.error();
    for (auto batch : opts.batches)
      report.measures.push_back(measure(cfg, batch, opts, seed));
  }
  return report;
}

} // namespace phoenix::bench
