#include "phoenix/persistence/store_config.hpp"

#include "phoenix/runtime/config_table.hpp"

#include <cstdint>
#include <limits>

namespace phoenix::persistence {
namespace {

error bad(const std::string& origin, const std::string& key, const std::string& what) {
  return error{runtime::errc::config_bad_value, origin + ": [store] " + key + ": " + what};
}

const std::initializer_list<std::string_view> store_keys = {"backend",
                                                            "path",
                                                            "dsn",
                                                            "synchronous",
                                                            "busy_timeout_ms",
                                                            "batch_max",
                                                            "batch_window_us",
                                                            "retention_hours",
                                                            "traceability"};

} // namespace

result<store_config> store_config_from(const runtime::config_table& section,
                                       const std::string& origin) {
  runtime::table_reader r{section, origin, "store"};
  if (auto ok = r.check_known(store_keys); !ok)
    return ok.error();
  store_config cfg;
  cfg.origin = origin;
  constexpr auto any = std::numeric_limits<std::int64_t>::max(); // validate checks ranges
  std::int64_t busy = cfg.busy_timeout.count();
  std::int64_t batch_max = static_cast<std::int64_t>(cfg.batch_max);
  std::int64_t window = cfg.batch_window.count();
  std::int64_t retention = cfg.retention.count();
  for (auto res : {r.text("backend", cfg.backend), r.text("path", cfg.path),
                   r.text("dsn", cfg.dsn), r.text("synchronous", cfg.synchronous),
                   r.integer("busy_timeout_ms", busy, -any, any),
                   r.integer("batch_max", batch_max, -any, any),
                   r.integer("batch_window_us", window, -any, any),
                   r.integer("retention_hours", retention, -any, any),
                   r.boolean("traceability", cfg.traceability)})
    if (!res)
      return res.error();
  cfg.busy_timeout = std::chrono::milliseconds{busy};
  if (batch_max < 1) // size_t cannot show it; validate checks the upper bound
    return bad(origin, "batch_max",
               "expected 1 to 100000; got " + std::to_string(batch_max));
  cfg.batch_max = static_cast<std::size_t>(batch_max);
  cfg.batch_window = std::chrono::microseconds{window};
  cfg.retention = std::chrono::hours{retention};
  if (auto ok = validate(cfg, origin); !ok)
    return ok.error();
  return cfg;
}

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
  if (cfg.retention.count() < 1 || cfg.retention.count() > 876000)
    return bad(origin, "retention_hours",
               "expected 1 to 876000 (100 years); got " +
                   std::to_string(cfg.retention.count()));
  return {};
}

} // namespace phoenix::persistence
