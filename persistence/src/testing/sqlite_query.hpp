#pragma once

// Reads a SQLite file the way an outside tool would: on a read-only connection of its
// own, so that tests see what a store committed, not what it holds in memory.

#include <sqlite3.h>
#include <string>
#include <vector>

namespace phoenix::persistence::testing {

/// The first column of every row of `sql` (empty when the query fails).
inline std::vector<std::string> sqlite_column(const std::string& path,
                                              const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
  std::vector<std::string> out;
  while (s && sqlite3_step(s) == SQLITE_ROW) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    out.emplace_back(text ? text : "");
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

} // namespace phoenix::persistence::testing
