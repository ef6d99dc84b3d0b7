#include "sqlite/sqlite_db.hpp"
#include "sqlite/sqlite_store.hpp"

#include <vector>

namespace phoenix::persistence {
namespace {

// Append only: a released step is never edited, a change is a new step.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> steps = {
      // 1: idempotency keys and traceability.
      R"sql(
CREATE TABLE request_keys (
  key TEXT PRIMARY KEY,
  state INTEGER NOT NULL,
  claimed_at_us INTEGER NOT NULL,
  lease_until_us INTEGER NOT NULL,
  completed_at_us INTEGER
) WITHOUT ROWID;
CREATE INDEX request_keys_completed ON request_keys(completed_at_us) WHERE state = 2;
CREATE TABLE message_traceability (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  topic TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  kafka_offset INTEGER NOT NULL,
  stage TEXT NOT NULL,
  node TEXT NOT NULL,
  detail TEXT NOT NULL,
  at_us INTEGER NOT NULL
);
CREATE INDEX message_traceability_key ON message_traceability(key);
CREATE INDEX message_traceability_at ON message_traceability(at_us);
)sql",
      // 2: saga state and its transactional outbox.
      R"sql(
CREATE TABLE saga_state (
  saga_id TEXT PRIMARY KEY,
  saga_type TEXT NOT NULL,
  topic TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  status TEXT NOT NULL,
  finished INTEGER NOT NULL,
  version INTEGER NOT NULL,
  data BLOB NOT NULL,
  updated_at_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX saga_state_unfinished ON saga_state(topic, kafka_partition) WHERE finished = 0;
CREATE TABLE saga_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  saga_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  key TEXT NOT NULL,
  payload BLOB NOT NULL,
  headers BLOB NOT NULL,
  created_at_us INTEGER NOT NULL,
  published_at_us INTEGER
);
CREATE INDEX saga_outbox_pending ON saga_outbox(id) WHERE published_at_us IS NULL;
)sql",
      // 3: who holds a claim, so that it can take its own claims back after a restart.
      R"sql(
ALTER TABLE request_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';
)sql",
      // 4: the partition of the saga that wrote an outbox row, so that a relay reads only
      // the rows of the sagas its node owns. Pending rows written before take it from
      // their saga; a row without one keeps -1 and is read by every relay. No index of its
      // own: a relay reads the pending rows in id order (saga_outbox_pending) and skips
      // the others' (a second index cost about 8% more CPU a saga in `phoenix bench
      // saga`, and the planner did not use it).
      R"sql(
ALTER TABLE saga_outbox ADD COLUMN saga_topic TEXT NOT NULL DEFAULT '';
ALTER TABLE saga_outbox ADD COLUMN saga_partition INTEGER NOT NULL DEFAULT -1;
UPDATE saga_outbox SET saga_topic = s.topic, saga_partition = s.kafka_partition
  FROM saga_state AS s
  WHERE s.saga_id = saga_outbox.saga_id AND saga_outbox.published_at_us IS NULL;
)sql",
      // 5: a published row is deleted rather than marked (nothing reads it again, and
      // marked rows made the table grow without bound, out of the page cache: `phoenix
      // bench saga` got slower round after round); the ones marked before go now.
      R"sql(
DELETE FROM saga_outbox WHERE published_at_us IS NOT NULL;
)sql",
      // 6: finished sagas are purged with the keys (retention), found by their last write;
      // an index entry is added once a saga, when it finishes, at the end of the index.
      R"sql(
CREATE INDEX saga_state_finished ON saga_state(updated_at_us) WHERE finished = 1;
)sql",
      // 7: new keys are appended to a log and sorted into runs; request_keys is run 0
      // (sqlite/key_index.hpp, persistence/README.md "Key layout"). The epoch moves
      // whenever the log or the runs are rewritten, a run's generation when a purge
      // deleted rows of it, so other connections read them again. A released key stays
      // as a row of state 0 (absent) until it is claimed again or purged.
      R"sql(
CREATE TABLE request_key_log (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  state INTEGER NOT NULL,
  claimed_at_us INTEGER NOT NULL,
  lease_until_us INTEGER NOT NULL,
  completed_at_us INTEGER,
  owner TEXT NOT NULL DEFAULT ''
);
CREATE TABLE request_key_runs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  keys INTEGER NOT NULL,
  oldest_us INTEGER NOT NULL DEFAULT 0,
  generation INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX request_keys_released ON request_keys(claimed_at_us) WHERE state = 0;
INSERT INTO request_key_runs(id, name, keys)
  VALUES (0, 'request_keys', (SELECT count(*) FROM request_keys));
CREATE TABLE request_key_layout (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  epoch INTEGER NOT NULL
);
INSERT INTO request_key_layout(id, epoch) VALUES (0, 0);
)sql",
  };
  return steps;
}

int user_version(sqlite3* db) {
  sqlite::statement s{db, "PRAGMA user_version"};
  return s.step() ? static_cast<int>(s.int64(0)) : 0;
}

} // namespace

int sqlite_latest_schema_version() {
  return static_cast<int>(migrations().size());
}

namespace sqlite {

void migrate(sqlite3* db) {
  const int latest = sqlite_latest_schema_version();
  if (user_version(db) == latest)
    return;
  for (;;) {
    exec(db, "BEGIN IMMEDIATE");
    try {
      // Read again under the write lock: another process may have migrated meanwhile.
      int current = user_version(db);
      if (current > latest)
        throw detail::db_failure{
            make_store_error(store_errc::migration_failed,
                             "database schema version " + std::to_string(current) +
                                 " is newer than this build's " + std::to_string(latest))};
      if (current == latest) {
        exec(db, "COMMIT");
        return;
      }
      try {
        exec(db, migrations()[static_cast<std::size_t>(current)]);
        exec(db, "PRAGMA user_version = " + std::to_string(current + 1));
      } catch (const detail::db_failure& e) {
        throw detail::db_failure{make_store_error(store_errc::migration_failed,
                                                  "step " + std::to_string(current + 1) +
                                                      ": " + e.err.message())};
      }
      exec(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

} // namespace sqlite
} // namespace phoenix::persistence
