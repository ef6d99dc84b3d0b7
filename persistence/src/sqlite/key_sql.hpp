#pragma once

// The connection settings of every SQLite connection (the store's, and the raw loop's
// of `phoenix bench store`), and the statements that claim and complete idempotency keys
// in one plain table: what the raw loop runs, and what the store ran before its key
// layout (sqlite/key_index.hpp), whose runs take the same rule. Parameters: claim (key,
// now_us, lease_until_us, owner); state (key); complete (key, now_us).

namespace phoenix::persistence::sqlite::key_sql {

/// Run on every connection after WAL and `synchronous` (persistence/README.md, "SQLite
/// settings"): a page cache of 64 MiB instead of 2 MiB, so the B-tree's interior and hot
/// leaves stay in memory, and a checkpoint every 10,000 WAL pages (~40 MiB) instead of
/// every 1,000, so a batch of random keys (about one page each) does not checkpoint every
/// transaction. Neither changes what a commit makes durable.
inline constexpr const char* tuning_sql =
    "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000";

inline constexpr const char* claim_sql =
    "INSERT INTO request_keys(key, state, claimed_at_us, lease_until_us, owner) "
    "VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET "
    "claimed_at_us = excluded.claimed_at_us, lease_until_us = excluded.lease_until_us, "
    "owner = excluded.owner WHERE request_keys.state = 1 AND "
    "(request_keys.lease_until_us <= excluded.claimed_at_us OR "
    "(excluded.owner <> '' AND request_keys.owner = excluded.owner))";
inline constexpr const char* state_sql = "SELECT state FROM request_keys WHERE key = ?1";
inline constexpr const char* complete_sql =
    "INSERT INTO request_keys(key, state, claimed_at_us, lease_until_us, completed_at_us) "
    "VALUES (?1, 2, ?2, ?2, ?2) ON CONFLICT(key) DO UPDATE SET state = 2, "
    "completed_at_us = excluded.completed_at_us WHERE request_keys.state <> 2";

} // namespace phoenix::persistence::sqlite::key_sql
