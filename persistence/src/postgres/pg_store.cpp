#include "postgres/pg_store.hpp"

#include "postgres/pg_batch.hpp"
#include "postgres/pg_db.hpp"

#include <spdlog/spdlog.h>

namespace phoenix::persistence {
namespace {

using detail::db_failure;
using detail::from_us;
using detail::to_us;

constexpr const char* saga_cols =
    "SELECT saga_id, saga_type, topic, kafka_partition, status, "
    "finished, version, data, updated_at_us FROM sys.saga_state ";

saga_record read_saga(const pqxx::row& r) {
  saga_record s;
  s.id.value = r[0].as<std::string>();
  s.type = r[1].as<std::string>();
  s.topic = r[2].as<std::string>();
  s.partition = r[3].as<std::int32_t>();
  s.status = r[4].as<std::string>();
  s.finished = r[5].as<bool>();
  s.version = r[6].as<std::int64_t>();
  s.data = pqxx::binarystring{r[7]}.str();
  s.updated_at = from_us(r[8].as<std::int64_t>());
  return s;
}

class pg_store final : public store {
public:
  explicit pg_store(store_config cfg) : cfg_(std::move(cfg)) {
    // A server that does not answer must not hang the store actor forever.
    if (cfg_.dsn.find("://") == std::string::npos &&
        cfg_.dsn.find("connect_timeout") == std::string::npos)
      cfg_.dsn += " connect_timeout=5";
  }

  const char* backend() const noexcept override { return "postgres"; }

  /// Throws db_failure.
  void connect() {
    conn_.reset();
    try {
      auto c = std::make_unique<pqxx::connection>(cfg_.dsn);
      pg::migrate(*c);
      conn_ = std::move(c);
    } catch (const db_failure&) {
      throw;
    } catch (const std::exception& e) {
      auto err = pg::classify(e);
      throw db_failure{error{err.code(), "cannot connect to PostgreSQL (" +
                                             pg::redact(cfg_.dsn) + "): " + err.message()}};
    }
  }

  result<std::vector<result<reply>>> apply(const std::vector<store_request>& batch,
                                           time_point now) override {
    auto r = guarded([&](pqxx::connection& c) {
      pqxx::work w{c, "batch"};
      auto out = pg::apply_batch(w, batch, now, stats_.round_trips);
      w.commit();
      stats_.round_trips += 2; // BEGIN, COMMIT
      return out;
    });
    if (r) {
      ++stats_.transactions;
      stats_.requests += batch.size();
    } else {
      ++stats_.failed_batches;
    }
    return r;
  }

  result<key_record> lookup(const idempotency_key& key) override {
    return guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      auto rows = n.exec_params("SELECT state, claimed_at_us, lease_until_us, "
                                "coalesce(completed_at_us, 0) FROM sys.request_keys "
                                "WHERE key = $1",
                                key.value);
      key_record r;
      if (!rows.empty()) {
        r.state = rows[0][0].as<int>() == detail::state_completed ? key_state::completed
                                                                  : key_state::claimed;
        r.claimed_at = from_us(rows[0][1].as<std::int64_t>());
        r.lease_until = from_us(rows[0][2].as<std::int64_t>());
        r.completed_at = from_us(rows[0][3].as<std::int64_t>());
      }
      return r;
    });
  }

  result<std::optional<saga_record>> load_saga(const saga_id& id) override {
    return guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      auto rows = n.exec_params(std::string{saga_cols} + "WHERE saga_id = $1", id.value);
      std::optional<saga_record> r;
      if (!rows.empty())
        r = read_saga(rows[0]);
      return r;
    });
  }

  result<std::vector<saga_record>> unfinished_sagas(const std::string& topic,
                                                    std::int32_t partition) override {
    return guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      auto rows =
          n.exec_params(std::string{saga_cols} + "WHERE NOT finished AND topic = $1 AND "
                                                 "kafka_partition = $2 ORDER BY saga_id",
                        topic, partition);
      std::vector<saga_record> out;
      for (const auto& row : rows)
        out.push_back(read_saga(row));
      return out;
    });
  }

  result<std::vector<saga_record>> list_sagas(const std::string& status,
                                              std::size_t limit) override {
    return guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      auto rows = n.exec_params(
          std::string{saga_cols} + "WHERE $1 = '' OR status = $1 ORDER BY saga_id LIMIT $2",
          status, static_cast<std::int64_t>(limit));
      std::vector<saga_record> out;
      for (const auto& row : rows)
        out.push_back(read_saga(row));
      return out;
    });
  }

  result<std::vector<outbox_record>> pending_outbox(std::size_t limit,
                                                    const outbox_scope& scope) override {
    return guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      constexpr const char* cols =
          "SELECT id, saga_id, topic, key, payload, headers, created_at_us, saga_topic, "
          "saga_partition FROM sys.saga_outbox WHERE published_at_us IS NULL AND id > $2 ";
      pqxx::result rows;
      if (scope.all) {
        rows = n.exec_params(std::string{cols} + "ORDER BY id LIMIT $1",
                             static_cast<std::int64_t>(limit), scope.after_id);
      } else {
        std::vector<std::string> topics;
        std::vector<std::int64_t> partitions;
        for (const auto& p : scope.partitions) {
          topics.push_back(p.topic);
          partitions.push_back(p.partition);
        }
        rows = n.exec_params(std::string{cols} +
                                 "AND (saga_partition = -1 OR (saga_topic, saga_partition) "
                                 "IN (SELECT * FROM unnest($3::text[], $4::int4[]))) "
                                 "ORDER BY id LIMIT $1",
                             static_cast<std::int64_t>(limit), scope.after_id,
                             pg::text_array(topics), pg::int_array(partitions));
      }
      std::vector<outbox_record> out;
      for (const auto& r : rows)
        out.push_back({r[0].as<std::int64_t>(),
                       {r[1].as<std::string>()},
                       {r[2].as<std::string>(), r[3].as<std::string>(),
                        pqxx::binarystring{r[4]}.str(), pqxx::binarystring{r[5]}.str()},
                       from_us(r[6].as<std::int64_t>()),
                       {r[7].as<std::string>(), r[8].as<std::int32_t>()}});
      return out;
    });
  }

  result<std::vector<trace_record>> traces(const idempotency_key& key) override {
    return guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      auto rows = n.exec_params("SELECT topic, kafka_partition, kafka_offset, stage, node, "
                                "detail, at_us FROM sys.message_traceability "
                                "WHERE key = $1 ORDER BY at_us, id",
                                key.value);
      std::vector<trace_record> out;
      for (const auto& r : rows)
        out.push_back({key, r[0].as<std::string>(), r[1].as<std::int32_t>(),
                       r[2].as<std::int64_t>(), r[3].as<std::string>(),
                       r[4].as<std::string>(), r[5].as<std::string>(),
                       from_us(r[6].as<std::int64_t>())});
      return out;
    });
  }

  result<purge_counts> purge(time_point cutoff) override {
    return guarded([&](pqxx::connection& c) {
      pqxx::work w{c, "purge"};
      purge_counts n;
      n.keys = w.exec_params("DELETE FROM sys.request_keys WHERE state = 2 AND "
                             "completed_at_us < $1",
                             to_us(cutoff))
                   .affected_rows();
      n.traces = w.exec_params("DELETE FROM sys.message_traceability WHERE at_us < $1",
                               to_us(cutoff))
                     .affected_rows();
      n.sagas = w.exec_params("DELETE FROM sys.saga_state WHERE finished AND "
                              "updated_at_us < $1 AND status <> $2",
                              to_us(cutoff), std::string{saga_status_kept})
                    .affected_rows();
      w.commit();
      return n;
    });
  }

  result<int> schema_version() override {
    return guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      return n.exec1("SELECT coalesce(max(version), 0) FROM sys.schema_migrations")[0]
          .as<int>();
    });
  }

  result<void> verify() override {
    auto r = guarded([&](pqxx::connection& c) {
      pqxx::nontransaction n{c};
      return n.exec1("SELECT 1")[0].as<int>();
    });
    if (!r)
      return r.error();
    return {};
  }

  result<void> reconnect() override {
    try {
      connect();
    } catch (const db_failure& e) {
      return e.err;
    }
    ++stats_.reconnects;
    return {};
  }

  store_stats stats() const override { return stats_; }

private:
  /// Runs `f` on the connection, connecting first if an earlier failure dropped it. A
  /// failure that leaves the connection in doubt drops it, so the next use starts afresh.
  template <class F>
  auto guarded(F&& f) -> result<decltype(f(std::declval<pqxx::connection&>()))> {
    try {
      if (!conn_) {
        connect();
        ++stats_.reconnects;
      }
      return f(*conn_);
    } catch (const db_failure& e) {
      return e.err;
    } catch (const std::exception& e) {
      // Whatever made the store unavailable (lost connection, server shutting down)
      // may have left the session broken: the next use connects afresh.
      auto err = pg::classify(e);
      if (err.code() == store_errc::store_unavailable)
        conn_.reset();
      return err;
    }
  }

  store_config cfg_;
  std::unique_ptr<pqxx::connection> conn_;
  store_stats stats_;
};

} // namespace

result<std::unique_ptr<store>> open_pg_store(const store_config& cfg) {
  auto s = std::make_unique<pg_store>(cfg);
  try {
    s->connect();
  } catch (const db_failure& e) {
    return e.err;
  }
  spdlog::debug("store: PostgreSQL {} (schema sys {})", pg::redact(cfg.dsn),
                pg::latest_version());
  return std::unique_ptr<store>{std::move(s)};
}

} // namespace phoenix::persistence
