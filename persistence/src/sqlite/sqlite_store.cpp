#include "sqlite/sqlite_store.hpp"

#include "sqlite/key_index.hpp"
#include "sqlite/key_sql.hpp"
#include "sqlite/sqlite_db.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace phoenix::persistence {
namespace {

using detail::db_failure;
using detail::from_us;
using detail::to_us;
using sqlite::statement;
using namespace sqlite::key_sql;

// Statement texts double as keys of the statement cache. The idempotency keys have
// their own layout and statements (sqlite/key_index.hpp).
constexpr const char* trace_sql =
    "INSERT INTO message_traceability(key, topic, kafka_partition, kafka_offset, stage, "
    "node, detail, at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* saga_version_sql =
    "SELECT version FROM saga_state WHERE saga_id = ?1";
// A saga write takes only when the stored version is the one expected, so the check and
// the write are one statement: the first write of a saga inserts (and finds any row
// there), a later one updates the row at the expected version. The usual later write,
// an unfinished saga staying where it is, sets only the columns that change, so that
// SQLite leaves the unfinished-sagas index alone; any other (finishing, or a saga
// moved) sets every column.
constexpr const char* saga_insert_sql =
    "INSERT INTO saga_state(saga_id, saga_type, topic, kafka_partition, status, finished, "
    "version, data, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT(saga_id) DO NOTHING";
constexpr const char* saga_step_sql =
    "UPDATE saga_state SET status = ?5, version = ?6, data = ?7, updated_at_us = ?8 "
    "WHERE saga_id = ?1 AND version = ?9 AND finished = 0 AND saga_type = ?2 AND "
    "topic = ?3 AND kafka_partition = ?4";
constexpr const char* saga_update_sql =
    "UPDATE saga_state SET saga_type = ?2, topic = ?3, kafka_partition = ?4, status = ?5, "
    "finished = ?6, version = ?7, data = ?8, updated_at_us = ?9 "
    "WHERE saga_id = ?1 AND version = ?10";
constexpr const char* outbox_put_sql =
    "INSERT INTO saga_outbox(saga_id, topic, key, payload, headers, created_at_us, "
    "saga_topic, saga_partition) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* outbox_all_sql =
    "SELECT id, saga_id, topic, key, payload, headers, created_at_us, saga_topic, "
    "saga_partition FROM saga_outbox WHERE published_at_us IS NULL AND id > ?3 "
    "ORDER BY id LIMIT ?1";
// ?2: the owned partitions as a JSON array of [topic, partition] pairs; ?3 after_id.
constexpr const char* outbox_owned_sql =
    "SELECT id, saga_id, topic, key, payload, headers, created_at_us, saga_topic, "
    "saga_partition FROM saga_outbox WHERE published_at_us IS NULL AND id > ?3 AND "
    "(saga_partition = -1 OR (saga_topic, saga_partition) IN "
    "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))) "
    "ORDER BY id LIMIT ?1";

std::string json_partitions(const std::vector<saga_partition>& ps) {
  std::string out = "[";
  for (const auto& p : ps) {
    out += out.size() > 1 ? ",[\"" : "[\"";
    for (char c : p.topic) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += "\"," + std::to_string(p.partition) + "]";
  }
  return out + "]";
}
// A published row is not kept: nothing reads it again (schema step 5).
constexpr const char* publish_sql = "DELETE FROM saga_outbox WHERE id = ?1";
constexpr const char* saga_cols = "SELECT saga_id, saga_type, topic, kafka_partition, "
                                  "status, finished, version, data, updated_at_us "
                                  "FROM saga_state ";

saga_record read_saga(const statement& s) {
  saga_record r;
  r.id.value = s.text(0);
  r.type = s.text(1);
  r.topic = s.text(2);
  r.partition = static_cast<std::int32_t>(s.int64(3));
  r.status = s.text(4);
  r.finished = s.int64(5) != 0;
  r.version = s.int64(6);
  r.data = s.text(7);
  r.updated_at = from_us(s.int64(8));
  return r;
}

/// A request that cannot apply (saga version mismatch); only its savepoint rolls back.
struct request_conflict {
  error err;
};

class sqlite_store final : public store {
public:
  explicit sqlite_store(store_config cfg) : cfg_(std::move(cfg)) {}

  ~sqlite_store() override {
    keys_.reset(); // statements before the connection they belong to
    stmts_.clear();
  }

  const char* backend() const noexcept override { return "sqlite"; }

  void open() {
    keys_.reset();
    stmts_.clear();
    db_.reset();
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(
        cfg_.path.c_str(), &raw,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK)
      sqlite::fail(raw, rc, "cannot open SQLite database '" + cfg_.path + "'");
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, static_cast<int>(cfg_.busy_timeout.count()));
    // WAL lets readers run beside the one writer and makes a commit one append.
    std::string mode;
    {
      statement wal{raw, "PRAGMA journal_mode = WAL"};
      mode = wal.step() ? wal.text(0) : "";
    }
    if (mode != "wal")
      throw db_failure{make_store_error(store_errc::store_unavailable,
                                        "'" + cfg_.path + "': cannot switch to WAL mode")};
    sqlite::exec(raw, "PRAGMA synchronous = " + cfg_.synchronous);
    sqlite::exec(raw, tuning_sql);
    sqlite::migrate(raw);
    keys_ = std::make_unique<sqlite::key_index>(raw, cfg_.key_log_rows);
    keys_->in_transaction("BEGIN", [] {}); // the key layout now, not in the first batch
  }

  result<std::vector<result<reply>>> apply(const std::vector<store_request>& batch,
                                           time_point now) override {
    if (db_ && keys_->due())
      housekeeping(); // the store actor does it between batches; other users here
    return guarded([&] {
      std::vector<result<reply>> out;
      out.reserve(batch.size());
      keys_->in_transaction(
          "BEGIN IMMEDIATE",
          [&] {
            for (const auto& req : batch)
              out.push_back(apply_request(req, now));
          },
          [&] { ++stats_.failed_batches; });
      ++stats_.transactions;
      stats_.requests += batch.size();
      return out;
    });
  }

  result<key_record> lookup(const idempotency_key& key) override {
    return guarded([&] {
      key_record r;
      keys_->in_transaction("BEGIN", [&] {
        if (auto row = keys_->find(key.value)) {
          r.state = row->state == detail::state_completed ? key_state::completed
                                                          : key_state::claimed;
          r.claimed_at = from_us(row->claimed_at_us);
          r.lease_until = from_us(row->lease_until_us);
          r.completed_at = from_us(row->completed_at_us);
        }
      });
      return r;
    });
  }

  result<std::optional<saga_record>> load_saga(const saga_id& id) override {
    return guarded([&] {
      static const std::string sql = std::string{saga_cols} + "WHERE saga_id = ?1";
      auto& s = get(sql.c_str());
      s.bind(1, id.value);
      std::optional<saga_record> r;
      if (s.step())
        r = read_saga(s);
      s.reset();
      return r;
    });
  }

  result<std::vector<saga_record>> unfinished_sagas(const std::string& topic,
                                                    std::int32_t partition) override {
    return guarded([&] {
      static const std::string sql =
          std::string{saga_cols} +
          "WHERE finished = 0 AND topic = ?1 AND kafka_partition = ?2 ORDER BY saga_id";
      auto& s = get(sql.c_str());
      s.bind(1, topic).bind(2, partition);
      std::vector<saga_record> out;
      while (s.step())
        out.push_back(read_saga(s));
      s.reset();
      return out;
    });
  }

  result<std::vector<saga_record>> list_sagas(const std::string& status,
                                              std::size_t limit) override {
    return guarded([&] {
      static const std::string sql =
          std::string{saga_cols} + "WHERE ?1 = '' OR status = ?1 ORDER BY saga_id LIMIT ?2";
      auto& s = get(sql.c_str());
      s.bind(1, status).bind(2, static_cast<std::int64_t>(limit));
      std::vector<saga_record> out;
      while (s.step())
        out.push_back(read_saga(s));
      s.reset();
      return out;
    });
  }

  result<std::vector<outbox_record>> pending_outbox(std::size_t limit,
                                                    const outbox_scope& scope) override {
    return guarded([&] {
      auto& s = get(scope.all ? outbox_all_sql : outbox_owned_sql);
      s.bind(1, static_cast<std::int64_t>(limit));
      s.bind(3, scope.after_id);
      std::string owned;
      if (!scope.all)
        s.bind(2, owned = json_partitions(scope.partitions));
      std::vector<outbox_record> out;
      while (s.step())
        out.push_back({s.int64(0),
                       {s.text(1)},
                       {s.text(2), s.text(3), s.text(4), s.text(5)},
                       from_us(s.int64(6)),
                       {s.text(7), static_cast<std::int32_t>(s.int64(8))}});
      s.reset();
      return out;
    });
  }

  result<std::vector<trace_record>> traces(const idempotency_key& key) override {
    return guarded([&] {
      auto& s =
          get("SELECT topic, kafka_partition, kafka_offset, stage, node, detail, at_us "
              "FROM message_traceability WHERE key = ?1 ORDER BY at_us, id");
      s.bind(1, key.value);
      std::vector<trace_record> out;
      while (s.step())
        out.push_back({key, s.text(0), static_cast<std::int32_t>(s.int64(1)), s.int64(2),
                       s.text(3), s.text(4), s.text(5), from_us(s.int64(6))});
      s.reset();
      return out;
    });
  }

  result<purge_counts> purge(time_point cutoff) override {
    return guarded([&] {
      purge_counts n;
      static const std::string kept_status{saga_status_kept}; // bound SQLITE_STATIC
      keys_->in_transaction("BEGIN IMMEDIATE", [&] {
        n.keys = keys_->purge(to_us(cutoff));
        get("DELETE FROM message_traceability WHERE at_us < ?1")
            .bind(1, to_us(cutoff))
            .run();
        n.traces = static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
        get("DELETE FROM saga_state WHERE finished = 1 AND updated_at_us < ?1 AND "
            "status <> ?2")
            .bind(1, to_us(cutoff))
            .bind(2, kept_status)
            .run();
        n.sagas = static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
      });
      return n;
    });
  }

  result<int> schema_version() override {
    return guarded([&] {
      statement s{db_.get(), "PRAGMA user_version"};
      return s.step() ? static_cast<int>(s.int64(0)) : 0;
    });
  }

  result<void> verify() override {
    auto r = guarded([&] {
      statement s{db_.get(), "PRAGMA integrity_check"};
      std::string first = s.step() ? s.text(0) : "no answer";
      if (first != "ok")
        throw db_failure{
            make_store_error(store_errc::corrupt, "'" + cfg_.path + "': " + first)};
      return 0;
    });
    if (!r)
      return r.error();
    return {};
  }

  result<void> reconnect() override {
    auto r = guarded([&] {
      open();
      ++stats_.reconnects;
      return 0;
    });
    if (!r)
      return r.error();
    return {};
  }

  result<void> maintain() override {
    auto r = guarded([&] {
      keys_->maintain();
      return 0;
    });
    if (!r)
      return r.error();
    return {};
  }

  void housekeeping() {
    if (auto r = maintain(); !r)
      spdlog::warn("store: sorting the key log failed, tried again later: {}",
                   r.error().message());
  }

  store_stats stats() const override { return stats_; }

private:
  template <class F>
  auto guarded(F&& f) -> result<decltype(f())> {
    if (!db_)
      return make_store_error(store_errc::store_unavailable,
                              "'" + cfg_.path + "' is not open");
    try {
      return f();
    } catch (const db_failure& e) {
      return e.err;
    }
  }

  statement& get(const char* sql) { return stmts_.get(db_.get(), sql); }
  void run(const char* sql) { get(sql).run(); }

  result<reply> apply_request(const store_request& req, time_point now) {
    reply rep;
    // Only a saga write can fail one request alone (request_conflict), and it finds the
    // conflict before it writes anything; any other failure fails the whole batch. So a
    // request needs a savepoint only when a saga write follows other writes of it.
    const bool needs_savepoint =
        std::any_of(req.ops.begin() + (req.ops.empty() ? 0 : 1), req.ops.end(),
                    [](const store_op& op) { return std::holds_alternative<saga_op>(op); });
    if (!needs_savepoint) {
      try {
        for (const auto& op : req.ops)
          std::visit([&](const auto& x) { apply_op(x, now, rep); }, op);
      } catch (const request_conflict& c) {
        return c.err; // the first op: nothing of this request was written
      }
      return rep;
    }
    run("SAVEPOINT request");
    try {
      for (const auto& op : req.ops)
        std::visit([&](const auto& x) { apply_op(x, now, rep); }, op);
    } catch (const request_conflict& c) {
      run("ROLLBACK TO request");
      run("RELEASE request");
      if (std::any_of(req.ops.begin(), req.ops.end(), [](const store_op& op) {
            return std::holds_alternative<claim_op>(op) ||
                   std::holds_alternative<complete_op>(op) ||
                   std::holds_alternative<release_op>(op);
          }))
        keys_->invalidate(); // a key written before the conflict is undone
      return c.err;
    }
    run("RELEASE request");
    return rep;
  }

  void apply_op(const claim_op& op, time_point now, reply& rep) {
    rep.claims.push_back(
        keys_->claim(op.key.value, to_us(now), to_us(now + op.lease), op.owner));
  }

  void apply_op(const complete_op& op, time_point now, reply&) {
    keys_->complete(op.key.value, to_us(now));
  }

  void apply_op(const release_op& op, time_point, reply&) { keys_->release(op.key.value); }

  void apply_op(const trace_op& op, time_point now, reply&) {
    const auto& t = op.row;
    get(trace_sql)
        .bind(1, t.key.value)
        .bind(2, t.topic)
        .bind(3, t.partition)
        .bind(4, t.offset)
        .bind(5, t.stage)
        .bind(6, t.node)
        .bind(7, t.detail)
        .bind(8, to_us(detail::stamp(t.at, now)))
        .run();
  }

  // ?1-?9 of saga_insert_sql and saga_update_sql: the row as it is to be stored.
  static statement& bind_saga_row(statement& s, const saga_record& st, std::int64_t next,
                                  std::int64_t updated) {
    return s.bind(1, st.id.value)
        .bind(2, st.type)
        .bind(3, st.topic)
        .bind(4, st.partition)
        .bind(5, st.status)
        .bind(6, st.finished ? 1 : 0)
        .bind(7, next)
        .bind_blob(8, st.data)
        .bind(9, updated);
  }

  void apply_op(const saga_op& op, time_point now, reply& rep) {
    const auto& st = op.state;
    const std::int64_t next = op.expected_version + 1;
    const std::int64_t updated = to_us(detail::stamp(st.updated_at, now));
    if (op.expected_version == 0) {
      bind_saga_row(get(saga_insert_sql), st, next, updated).run();
    } else {
      if (!st.finished)
        get(saga_step_sql)
            .bind(1, st.id.value)
            .bind(2, st.type)
            .bind(3, st.topic)
            .bind(4, st.partition)
            .bind(5, st.status)
            .bind(6, next)
            .bind_blob(7, st.data)
            .bind(8, updated)
            .bind(9, op.expected_version)
            .run();
      if (st.finished || sqlite3_changes(db_.get()) == 0)
        bind_saga_row(get(saga_update_sql), st, next, updated)
            .bind(10, op.expected_version)
            .run();
    }
    if (sqlite3_changes(db_.get()) == 0) {
      auto& v = get(saga_version_sql).bind(1, st.id.value);
      std::int64_t current = v.step() ? v.int64(0) : 0;
      v.reset();
      throw request_conflict{make_store_error(store_errc::conflict,
                                              "saga " + st.id.value + " is at version " +
                                                  std::to_string(current) + ", expected " +
                                                  std::to_string(op.expected_version))};
    }
    for (const auto& m : op.outbox)
      get(outbox_put_sql)
          .bind(1, st.id.value)
          .bind(2, m.topic)
          .bind(3, m.key)
          .bind_blob(4, m.payload)
          .bind_blob(5, m.headers)
          .bind(6, to_us(now))
          .bind(7, st.topic)
          .bind(8, st.partition)
          .run();
    rep.saga_versions.push_back(next);
  }

  void apply_op(const publish_op& op, time_point, reply&) {
    get(publish_sql).bind(1, op.outbox_id).run();
  }

  store_config cfg_;
  sqlite::db_ptr db_;
  sqlite::statement_cache stmts_;
  std::unique_ptr<sqlite::key_index> keys_; ///< Before db_ in destruction.
  store_stats stats_;
};

} // namespace

result<std::unique_ptr<store>> open_sqlite_store(const store_config& cfg) {
  auto s = std::make_unique<sqlite_store>(cfg);
  try {
    s->open();
  } catch (const db_failure& e) {
    return e.err;
  }
  spdlog::debug("store: SQLite '{}' (WAL, synchronous={}, schema {})", cfg.path,
                cfg.synchronous, sqlite_latest_schema_version());
  return std::unique_ptr<store>{std::move(s)};
}

} // namespace phoenix::persistence
