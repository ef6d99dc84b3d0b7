#include "postgres/pg_db.hpp"

#include "postgres/pg_store.hpp"

#include <regex>

namespace phoenix::persistence::pg {
namespace {

// Append only: a released step is never edited, a change is a new step.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> steps = {
      // 1: idempotency keys and traceability.
      R"sql(
CREATE TABLE sys.request_keys (
  key text PRIMARY KEY,
  state smallint NOT NULL,
  claimed_at_us bigint NOT NULL,
  lease_until_us bigint NOT NULL,
  completed_at_us bigint
);
CREATE INDEX request_keys_completed ON sys.request_keys (completed_at_us) WHERE state = 2;
CREATE TABLE sys.message_traceability (
  id bigserial PRIMARY KEY,
  key text NOT NULL,
  topic text NOT NULL,
  kafka_partition integer NOT NULL,
  kafka_offset bigint NOT NULL,
  stage text NOT NULL,
  node text NOT NULL,
  detail text NOT NULL,
  at_us bigint NOT NULL
);
CREATE INDEX message_traceability_key ON sys.message_traceability (key);
CREATE INDEX message_traceability_at ON sys.message_traceability (at_us);
)sql",
      // 2: saga state and its transactional outbox.
      R"sql(
CREATE TABLE sys.saga_state (
  saga_id text PRIMARY KEY,
  saga_type text NOT NULL,
  topic text NOT NULL,
  kafka_partition integer NOT NULL,
  status text NOT NULL,
  finished boolean NOT NULL,
  version bigint NOT NULL,
  data bytea NOT NULL,
  updated_at_us bigint NOT NULL
);
CREATE INDEX saga_state_unfinished ON sys.saga_state (topic, kafka_partition)
  WHERE NOT finished;
CREATE TABLE sys.saga_outbox (
  id bigserial PRIMARY KEY,
  saga_id text NOT NULL,
  topic text NOT NULL,
  key text NOT NULL,
  payload bytea NOT NULL,
  headers bytea NOT NULL,
  created_at_us bigint NOT NULL,
  published_at_us bigint
);
CREATE INDEX saga_outbox_pending ON sys.saga_outbox (id) WHERE published_at_us IS NULL;
)sql",
      // 3: who holds a claim, so that it can take its own claims back after a restart.
      R"sql(
ALTER TABLE sys.request_keys ADD COLUMN owner text NOT NULL DEFAULT '';
)sql",
      // 4: the partition of the saga that wrote an outbox row, so that a relay reads only
      // the rows of the sagas its node owns. Pending rows written before take it from
      // their saga; a row without one keeps -1 and is read by every relay. No index of its
      // own: a relay reads the pending rows in id order and skips the others' (see the
      // SQLite schema).
      R"sql(
ALTER TABLE sys.saga_outbox ADD COLUMN saga_topic text NOT NULL DEFAULT '';
ALTER TABLE sys.saga_outbox ADD COLUMN saga_partition integer NOT NULL DEFAULT -1;
UPDATE sys.saga_outbox AS o SET saga_topic = s.topic, saga_partition = s.kafka_partition
  FROM sys.saga_state AS s
  WHERE s.saga_id = o.saga_id AND o.published_at_us IS NULL;
)sql",
      // 5: a published row is deleted rather than marked (nothing reads it again, and
      // marked rows made the table grow without bound); the ones marked before go now.
      R"sql(
DELETE FROM sys.saga_outbox WHERE published_at_us IS NOT NULL;
)sql",
      // 6: finished sagas are purged with the keys (retention), found by their last write.
      R"sql(
CREATE INDEX saga_state_finished ON sys.saga_state (updated_at_us) WHERE finished;
)sql",
  };
  return steps;
}

// Any constant will do, as long as every Phoenix node uses the same one.
constexpr std::int64_t migration_lock = 0x70686f656e6978; // "phoenix"

void quote_into(std::string& out, const std::string& x) {
  out += '"';
  for (char c : x) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

} // namespace

int latest_version() {
  return static_cast<int>(migrations().size());
}

error classify(const std::exception& e) {
  std::string text = e.what();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state == "40001" || state == "40P01" || state == "55P03")
      return make_store_error(store_errc::conflict, text);
    if (state == "XX001" || state == "XX002")
      return make_store_error(store_errc::corrupt, text);
    return make_store_error(store_errc::store_unavailable, "[" + state + "] " + text);
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e))
    return make_store_error(store_errc::store_unavailable,
                            "connection lost during commit; outcome unknown: " + text);
  return make_store_error(store_errc::store_unavailable, text);
}

std::string redact(const std::string& dsn) {
  static const std::regex kv{R"((password\s*=\s*)('[^']*'|\S+))", std::regex::icase};
  static const std::regex uri{R"((://[^:/@]*:)[^@]*@)"};
  return std::regex_replace(std::regex_replace(dsn, kv, "$1***"), uri, "$1***@");
}

std::string text_array(const std::vector<std::string>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    quote_into(out, xs[i]);
  }
  out += '}';
  return out;
}

std::string int_array(const std::vector<std::int64_t>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    out += std::to_string(xs[i]);
  }
  out += '}';
  return out;
}

std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

void migrate(pqxx::connection_base& conn) {
  pqxx::work w{conn, "migrate"};
  w.exec_params("SELECT pg_advisory_xact_lock($1)", migration_lock);
  w.exec("CREATE SCHEMA IF NOT EXISTS sys");
  w.exec("CREATE TABLE IF NOT EXISTS sys.schema_migrations ("
         "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  int current =
      w.exec1("SELECT coalesce(max(version), 0) FROM sys.schema_migrations")[0].as<int>();
  const int latest = latest_version();
  if (current > latest)
    throw detail::db_failure{
        make_store_error(store_errc::migration_failed,
                         "schema sys is at version " + std::to_string(current) +
                             ", newer than this build's " + std::to_string(latest))};
  for (int v = current + 1; v <= latest; ++v) {
    try {
      w.exec(migrations()[static_cast<std::size_t>(v - 1)]);
    } catch (const pqxx::sql_error& e) {
      throw detail::db_failure{make_store_error(
          store_errc::migration_failed, "step " + std::to_string(v) + ": " + e.what())};
    }
    w.exec_params("INSERT INTO sys.schema_migrations (version) VALUES ($1)", v);
  }
  w.commit();
}

} // namespace phoenix::persistence::pg

namespace phoenix::persistence {

int pg_latest_schema_version() {
  return pg::latest_version();
}

std::string pg_redacted_dsn(const std::string& dsn) {
  return pg::redact(dsn);
}

} // namespace phoenix::persistence
