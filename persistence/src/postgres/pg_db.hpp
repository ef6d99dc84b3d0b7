#pragma once

// The libpqxx side of the PostgreSQL backend: error mapping, array and bytea
// encoding, migrations. Private to the persistence module.

#include "store_detail.hpp"

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace phoenix::persistence::pg {

/// Maps what libpqxx threw to a store error. Lost connections, server shutdown and
/// resource exhaustion are store_unavailable; serialization failures, deadlocks and
/// lock timeouts are conflicts; data corruption is corrupt.
error classify(const std::exception& e);

/// The DSN with any password replaced by ***, for messages and logs.
std::string redact(const std::string& dsn);

/// `{"a","b"}`: a text[] literal, so that a whole segment of a batch travels in one
/// parameter (libpqxx 6.4 has no array parameters).
std::string text_array(const std::vector<std::string>& xs);
std::string int_array(const std::vector<std::int64_t>& xs);

/// Hex for `decode($n, 'hex')`: bytea travels as text without escaping worries.
std::string hex(const std::string& bytes);

/// Brings schema `sys` to the latest version in one transaction, serialised across
/// nodes by an advisory lock. Throws detail::db_failure or libpqxx exceptions.
void migrate(pqxx::connection_base& conn);

int latest_version();

} // namespace phoenix::persistence::pg
