#pragma once

#include "phoenix/persistence/store.hpp"

namespace phoenix::persistence {

/// Connects to PostgreSQL at `cfg.dsn`, creates/migrates schema `sys`. Errors as
/// `open_store`.
result<std::unique_ptr<store>> open_pg_store(const store_config& cfg);

int pg_latest_schema_version();

/// The DSN with any password replaced by ***, for logs.
std::string pg_redacted_dsn(const std::string& dsn);

} // namespace phoenix::persistence
