#pragma once

// The one wrapper around sqlite3.h: RAII handles and the mapping of result codes to
// store errors. Failures throw detail::db_failure, caught at the store's surface.

#include "store_detail.hpp"

#include <map>
#include <memory>
#include <sqlite3.h>
#include <string>
#include <string_view>

namespace phoenix::persistence::sqlite {

/// Corrupt files are not retryable; a busy database is a conflict that the next batch
/// may not meet; everything else (cannot open, read-only, I/O error, disk full) means
/// the store is unavailable until it is reopened.
inline store_errc classify(int rc) {
  switch (rc & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return store_errc::corrupt;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return store_errc::conflict;
  default:
    return store_errc::store_unavailable;
  }
}

[[noreturn]] inline void fail(sqlite3* db, int rc, const std::string& what) {
  std::string text = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw detail::db_failure{make_store_error(classify(rc), what + ": " + text)};
}

struct db_closer {
  void operator()(sqlite3* p) const noexcept { sqlite3_close_v2(p); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;

/// A prepared statement, reset and unbound after each use.
class statement {
public:
  statement(sqlite3* db, const std::string& sql) : db_(db) {
    int rc =
        sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
    if (rc != SQLITE_OK)
      fail(db, rc, "prepare");
  }
  ~statement() { sqlite3_finalize(s_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  statement& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  statement& bind_blob(int i, const std::string& v) {
    check(sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }

  /// True while a row is available.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    fail(db_, rc, sqlite3_sql(s_));
  }

  /// Runs to completion and resets.
  void run() {
    while (step()) {
    }
    reset();
  }

  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  /// Valid until the next step or reset.
  std::string_view view(int col) const {
    auto p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string_view{};
  }
  std::string text(int col) const {
    auto p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string{};
  }

private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      fail(db_, rc, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

/// Prepares each SQL text once per connection.
class statement_cache {
public:
  statement& get(sqlite3* db, const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end())
      it = cache_.emplace(sql, std::make_unique<statement>(db, sql)).first;
    return *it->second;
  }
  void clear() { cache_.clear(); }

private:
  std::map<const char*, std::unique_ptr<statement>> cache_;
};

inline void exec(sqlite3* db, const std::string& sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string text = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    throw detail::db_failure{make_store_error(classify(rc), sql + ": " + text)};
  }
}

} // namespace phoenix::persistence::sqlite
