#pragma once

#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace phoenix::persistence {

/// `[store]`: which backend, where, and how the store actor batches. The defaults are
/// the embedded default: a SQLite file `phoenix.db` in the node's working directory.
struct store_config {
  std::string backend = "sqlite";  ///< "sqlite" or "postgres".
  std::string path = "phoenix.db"; ///< SQLite database file (relative: to the cwd).
  std::string dsn;                 ///< PostgreSQL connection string (libpq syntax).
  /// SQLite `PRAGMA synchronous` in WAL mode: "normal" (default), "full" or "extra".
  /// NORMAL never corrupts the database and loses nothing when the process dies
  /// (kill -9): a commit has reached the OS when it returns. Only an OS crash or power
  /// loss can drop the last commits before the next WAL sync. FULL syncs the WAL on
  /// every commit; group commit makes that one fsync per batch, so choose it where a
  /// power loss must not lose acknowledged effects. "off" is refused.
  std::string synchronous = "normal";
  std::chrono::milliseconds busy_timeout{5000}; ///< SQLite: wait for another writer.
  std::size_t batch_max = 1000;                 ///< Requests per transaction at most.
  std::chrono::microseconds batch_window{500};  ///< Wait for more requests this long.
  std::chrono::hours retention{24 * 7}; ///< Purge keys, traces, finished sagas older.
  /// Write each record's journey (received, handled, retried, dead-lettered, ...) to
  /// `message_traceability` for `phoenix trace` (see trace_log.hpp).
  bool traceability = true;
  /// SQLite: new idempotency keys the append log holds before they are sorted into a run
  /// (persistence/README.md, "Key layout"). Not read from TOML; tests make it small.
  std::size_t key_log_rows = 65536;
  /// Names the config source in error messages (`node.toml: [store] dsn: ...`).
  std::string origin = "<defaults>";
};

/// Reads `[store]` as the node's config loader kept it (runtime parses the TOML, this
/// module owns the keys), applies the defaults for what is absent and validates.
///
/// Errors, each `<origin>: [store] <key>: <what>`: runtime::errc::config_unknown_key and
/// config_wrong_type (with ` (line N)`, as the loader's own), config_bad_value as
/// `validate`.
result<store_config> store_config_from(const runtime::config_table& section,
                                       const std::string& origin);

/// Checks a store configuration, as the lead's `[store]` TOML section fills it.
///
/// Errors: runtime::errc::config_bad_value, with a message of the form
/// `<origin>: [store] <key>: <what>` where key is one of backend, path, dsn,
/// synchronous, busy_timeout_ms, batch_max, batch_window_us, retention_hours.
result<void> validate(const store_config& cfg, const std::string& origin);

} // namespace phoenix::persistence
