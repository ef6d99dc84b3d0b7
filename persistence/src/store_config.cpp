#include "phoenix/persistence/store_config.hpp"

namespace phoenix::persistence {
namespace {

error bad(const std::string& origin, const std::string& key, const std::string& what) {
  return error{runtime::errc::config_bad_value, origin + ": [store] " + key + ": " + what};
}

} // namespace

result<void> validate(const store_config& cfg, const std::string& origin) {
  if (cfg.backend != "sqlite" && cfg.backend != "postgres")
    return bad(origin, "backend",
               "expected one of sqlite, postgres; got \"" + cfg.backend + "\"");
  if (cfg.backend == "sqlite" && cfg.path.empty())
    return bad(origin, "path", "must name the SQLite database file");
  if (cfg.backend == "postgres" && cfg.dsn.empty())
    return bad(origin, "dsn", "must be a PostgreSQL connection string");
  if (cfg.synchronous != "normal" && cfg.synchronous != "full" &&
      cfg.synchronous != "extra")
    return bad(origin, "synchronous",
               "expected one of normal, full, extra; got \"" + cfg.synchronous +
                   "\" (off can corrupt the database on power loss)");
  if (cfg.busy_timeout.count() < 0 || cfg.busy_timeout > std::chrono::minutes{10})
    return bad(origin, "busy_timeout_ms",
               "expected 0 to 600000; got " + std::to_string(cfg.busy_timeout.count()));
  if (cfg.batch_max < 1 || cfg.batch_max > 100000)
    return bad(origin, "batch_max",
               "expected 1 to 100000; got " + std::to_string(cfg.batch_max));
  if (cfg.batch_window.count() < 0 || cfg.batch_window > std::chrono::seconds{1})
    return bad(origin, "batch_window_us",
               "expected 0 to 1000000; got " + std::to_string(cfg.batch_window.count()));
  if (cfg.retention.count() < 1)
    return bad(origin, "retention_hours",
               "expected at least 1; got " + std::to_string(cfg.retention.count()));
  return {};
}

} // namespace phoenix::persistence
