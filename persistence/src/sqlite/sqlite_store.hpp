#pragma once

#include "phoenix/persistence/store.hpp"

#include <sqlite3.h>

namespace phoenix::persistence {

/// Opens (creating if needed) the SQLite store at `cfg.path`: WAL, `cfg.synchronous`,
/// `cfg.busy_timeout`, migrations. Errors as `open_store`.
result<std::unique_ptr<store>> open_sqlite_store(const store_config& cfg);

int sqlite_latest_schema_version();

namespace sqlite {

/// Brings the schema to the latest version (PRAGMA user_version), one transaction per
/// step under BEGIN IMMEDIATE so that concurrent openers migrate once.
/// Throws detail::db_failure (migration_failed, or the database's own error).
void migrate(sqlite3* db);

} // namespace sqlite
} // namespace phoenix::persistence
