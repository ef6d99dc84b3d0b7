#pragma once

#include "phoenix/persistence/errc.hpp"
#include "phoenix/persistence/store_config.hpp"
#include "phoenix/persistence/types.hpp"
#include "phoenix/runtime/error.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::persistence {

/// The store that makes effects happen once: idempotency keys, saga state with its
/// outbox, traceability rows, retention. One object is one database connection;
/// thread-compatible (use it from one thread, as the store actor does). Any number of
/// objects (threads, processes, nodes) may share one database.
///
/// Every call that fails because the database cannot be reached returns
/// store_errc::store_unavailable; the object then stays usable after `reconnect()`.
class store {
public:
  virtual ~store();

  /// "sqlite" or "postgres".
  virtual const char* backend() const noexcept = 0;

  /// Applies `batch` in one transaction, as if its requests ran one after another.
  /// A request whose saga_op finds another version gets store_errc::conflict in its
  /// slot and none of its operations apply; the other requests still do.
  ///
  /// Errors (whole batch, nothing applied): store_unavailable (unreachable, read-only,
  /// disk full, lost connection), conflict (deadlock or lock timeout), corrupt.
  virtual result<std::vector<result<reply>>> apply(const std::vector<store_request>& batch,
                                                   time_point now) = 0;

  /// Errors: store_unavailable, corrupt.
  virtual result<key_record> lookup(const idempotency_key& key) = 0;
  virtual result<std::optional<saga_record>> load_saga(const saga_id& id) = 0;
  /// Sagas not finished whose events arrive on `topic`/`partition`, by id.
  virtual result<std::vector<saga_record>> unfinished_sagas(const std::string& topic,
                                                            std::int32_t partition) = 0;
  /// Sagas whose status is `status` (any status when empty), by id, at most `limit`:
  /// what inspection tools list.
  virtual result<std::vector<saga_record>> list_sagas(const std::string& status,
                                                      std::size_t limit) = 0;
  /// Outbox rows not yet published that `scope` covers, oldest first, at most `limit`.
  virtual result<std::vector<outbox_record>> pending_outbox(std::size_t limit,
                                                            const outbox_scope& scope) = 0;
  /// Every outbox row not yet published, oldest first, at most `limit`.
  result<std::vector<outbox_record>> pending_outbox(std::size_t limit) {
    return pending_outbox(limit, outbox_scope::everything());
  }
  /// Traceability rows of one key, oldest first.
  virtual result<std::vector<trace_record>> traces(const idempotency_key& key) = 0;

  /// Deletes completed keys whose completion, traceability rows whose time, and finished
  /// sagas whose last write is before `cutoff`. Claimed keys and unfinished sagas stay:
  /// they are live work, not history; so do sagas in `saga_status_kept`, which wait
  /// for a person, and pending outbox rows until published.
  /// Errors: store_unavailable, corrupt.
  virtual result<purge_counts> purge(time_point cutoff) = 0;

  /// Schema version the database is at (this build migrates it to `latest`).
  virtual result<int> schema_version() = 0;
  /// Checks the database: SQLite `PRAGMA integrity_check`, PostgreSQL a round trip.
  /// Errors: store_unavailable, corrupt.
  virtual result<void> verify() = 0;
  /// Drops the connection and opens it again, migrating if needed.
  /// Errors: store_unavailable, corrupt, migration_failed.
  virtual result<void> reconnect() = 0;

  virtual store_stats stats() const = 0;

  /// Housekeeping between batches, after their replies went out (SQLite: sorts a full
  /// key log into a run, merges small runs). Nothing a request waits for depends on it;
  /// a failure is reported and the work is tried again after a later batch.
  virtual result<void> maintain() { return {}; }

  // One-request conveniences over `apply`.
  result<claim_outcome> claim(const idempotency_key& key, time_point now,
                              std::chrono::milliseconds lease = std::chrono::minutes{5});
  result<void> complete(const idempotency_key& key, time_point now);
  result<void> release(const idempotency_key& key, time_point now);
  result<void> record_trace(trace_record row, time_point now);
  /// Returns the version stored.
  result<std::int64_t> save_saga(saga_op op, time_point now);
  result<void> mark_published(std::int64_t outbox_id, time_point now);

private:
  result<reply> apply_one(store_request r, time_point now);
};

/// Opens the configured backend, applies pending migrations, and returns the store.
///
/// Errors: bad_config (unknown backend, empty path or DSN), store_unavailable (file
/// cannot be opened or written, server unreachable; the message names the file or the
/// host and never the password), migration_failed (also: the database has a newer
/// schema than this build), corrupt.
result<std::unique_ptr<store>> open_store(const store_config& cfg);

/// The schema version this build migrates to, per backend.
int latest_schema_version(const std::string& backend);

} // namespace phoenix::persistence
