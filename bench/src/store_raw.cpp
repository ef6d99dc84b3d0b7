// The raw sides of `phoenix bench store`: what a careful programmer writes by hand on
// sqlite3 and libpqxx to claim and complete keys in batches, with the statements the
// store uses (its key_sql.hpp headers, so both sides do the same database work) and
// nothing else of Phoenix.

#include "phoenix/persistence/errc.hpp"
#include "postgres/key_sql.hpp"
#include "sqlite/key_sql.hpp"
#include "store_sides.hpp"

#include <pqxx/pqxx>
#include <sqlite3.h>
#include <stdexcept>

namespace phoenix::bench {
namespace {

using clock = std::chrono::steady_clock;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::int64_t lease_us = 5 * 60 * 1000 * 1000LL;

// -- SQLite ---------------------------------------------------------------------------

struct sqlite_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw sqlite_failure{std::string{what} + ": " + sqlite3_errmsg(db)};
}

class raw_sqlite {
public:
  explicit raw_sqlite(const persistence::store_config& cfg) {
    int rc = sqlite3_open_v2(cfg.path.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    check(db_, rc, "open");
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = " + cfg.synchronous);
    exec(persistence::sqlite::key_sql::tuning_sql); // the store's settings
    claim_ = prepare(persistence::sqlite::key_sql::claim_sql);
    state_ = prepare(persistence::sqlite::key_sql::state_sql);
    complete_ = prepare(persistence::sqlite::key_sql::complete_sql);
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
  }
  ~raw_sqlite() {
    for (auto* s : {claim_, state_, complete_, begin_, commit_})
      sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }
  raw_sqlite(const raw_sqlite&) = delete;
  raw_sqlite& operator=(const raw_sqlite&) = delete;

  /// One transaction of `n` keys from `first`; `claim` false writes them completed at
  /// once (the fill before the measurements).
  void transaction(const key_source& src, std::uint64_t first, std::uint64_t n,
                   bool claim = true) {
    step(begin_);
    const auto now = now_us();
    for (std::uint64_t i = first; i < first + n; ++i) {
      const auto key = src.key(i);
      if (claim) {
        sqlite3_bind_text(claim_, 1, key.data(), static_cast<int>(key.size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(claim_, 2, now);
        sqlite3_bind_int64(claim_, 3, now + lease_us);
        sqlite3_bind_text(claim_, 4, "", 0, SQLITE_STATIC);
        step(claim_);
        if (sqlite3_changes(db_) != 1) { // taken already: what did it find?
          sqlite3_bind_text(state_, 1, key.data(), static_cast<int>(key.size()),
                            SQLITE_STATIC);
          step(state_);
        }
      }
      sqlite3_bind_text(complete_, 1, key.data(), static_cast<int>(key.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(complete_, 2, now);
      step(complete_);
    }
    step(commit_);
  }

private:
  void exec(const std::string& sql) {
    check(db_, sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), sql.c_str());
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    check(db_, sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr),
          sql);
    return s;
  }
  void step(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    while (rc == SQLITE_ROW)
      rc = sqlite3_step(s);
    sqlite3_reset(s);
    check(db_, rc, sqlite3_sql(s));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* claim_ = nullptr;
  sqlite3_stmt* state_ = nullptr;
  sqlite3_stmt* complete_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
};

// -- PostgreSQL -----------------------------------------------------------------------

// `{"a","b"}`; bench keys hold no quotes or backslashes.
std::string array_literal(const std::vector<std::string>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    out += i ? ",\"" : "\"";
    out += xs[i];
    out += '"';
  }
  return out + "}";
}

std::string int_array(const std::vector<std::int64_t>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i)
    out += (i ? "," : "") + std::to_string(xs[i]);
  return out + "}";
}

// One transaction of `n` keys from `first`; `claim` false writes them completed at once
// (the fill before the measurements).
void pg_transaction(pqxx::connection& c, const key_source& src, std::uint64_t first,
                    std::uint64_t n, bool claim = true) {
  const auto now = now_us();
  std::vector<std::string> keys, owners;
  std::vector<std::int64_t> leases;
  for (std::uint64_t i = first; i < first + n; ++i) {
    keys.push_back(src.key(i));
    leases.push_back(now + lease_us);
    owners.emplace_back();
  }
  const auto k = array_literal(keys);
  pqxx::work w{c};
  if (claim)
    w.exec_params(persistence::pg::key_sql::claim_sql, k, int_array(leases), now,
                  array_literal(owners));
  w.exec_params(persistence::pg::key_sql::complete_sql, k, now);
  w.commit();
}

// Runs `tx(first, n)` per batch until the load is written or its time is up.
template <class Tx>
store_outcome timed(const store_load& load, Tx tx) {
  store_outcome out;
  const auto start = clock::now();
  const auto cpu = process_cpu_seconds();
  std::uint64_t done = 0;
  try {
    while (done < load.keys && clock::now() - start < load.max_time) {
      auto n = std::min<std::uint64_t>(load.batch, load.keys - done);
      tx(done, n);
      done += n;
      ++out.transactions;
    }
  } catch (const std::exception& e) {
    out.error = std::string{"raw: "} + e.what();
  }
  out.result.records = done;
  out.result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  out.result.cpu_seconds = process_cpu_seconds() - cpu;
  return out;
}

} // namespace

std::string key_source::key(std::uint64_t i) const {
  std::uint64_t z = (seed << 40) + i;
  if (!sequential) { // splitmix64: consecutive i land all over the key space
    z = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
  }
  static const char digits[] = "0123456789abcdef";
  std::string out = prefix;
  out.resize(prefix.size() + 16);
  for (int d = 15; d >= 0; --d, z >>= 4)
    out[prefix.size() + static_cast<std::size_t>(d)] = digits[z & 0xf];
  return out;
}

store_outcome run_raw_sqlite(const persistence::store_config& cfg, const store_load& load) {
  try {
    raw_sqlite db{cfg};
    return timed(load, [&](std::uint64_t first, std::uint64_t n) {
      db.transaction(load.source, first, n);
    });
  } catch (const std::exception& e) {
    store_outcome out;
    out.error = std::string{"raw: "} + e.what();
    return out;
  }
}

store_outcome run_raw_postgres(const persistence::store_config& cfg,
                               const store_load& load) {
  try {
    pqxx::connection c{cfg.dsn};
    return timed(load, [&](std::uint64_t first, std::uint64_t n) {
      pg_transaction(c, load.source, first, n);
    });
  } catch (const std::exception& e) {
    store_outcome out;
    out.error = std::string{"raw: "} + e.what();
    return out;
  }
}

result<void> fill_store(const persistence::store_config& cfg, const key_source& source,
                        std::uint64_t n) {
  constexpr std::uint64_t per_transaction = 20000;
  try {
    if (cfg.backend == "sqlite") {
      raw_sqlite db{cfg};
      for (std::uint64_t i = 0; i < n; i += per_transaction)
        db.transaction(source, i, std::min(per_transaction, n - i), false);
    } else {
      pqxx::connection c{cfg.dsn};
      {
        pqxx::work w{c};
        w.exec_params("DELETE FROM sys.request_keys WHERE key LIKE $1",
                      std::string{bench_key_prefix} + "%");
        w.commit();
      }
      for (std::uint64_t i = 0; i < n; i += per_transaction)
        pg_transaction(c, source, i, std::min(per_transaction, n - i), false);
      pqxx::nontransaction{c}.exec("VACUUM ANALYZE sys.request_keys");
    }
  } catch (const std::exception& e) {
    return persistence::make_store_error(persistence::store_errc::store_unavailable,
                                         "bench store: filling " + cfg.backend +
                                             " failed: " + e.what());
  }
  return {};
}

} // namespace phoenix::bench
