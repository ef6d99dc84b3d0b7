#pragma once

// The sides of `phoenix bench store`: a hand-written loop on each vendor API, and the
// group-commit store actor. Every side claims and completes keys it has never written,
// from a key_source of its own, and is timed from its first statement (raw) or request
// (Phoenix) to the last commit acknowledged.

#include "phoenix/bench/store.hpp"
#include "phoenix/persistence/store_config.hpp"
#include "sides.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace phoenix::bench {

/// Keys shaped like the partition pipeline's (scope, CloudEvents source, id), with 16
/// hex digits for the id: random ids (UUIDv4-like) spread over the whole key space;
/// time-ordered ids (ULID, UUIDv7, counters) increase, each source above the ones
/// before it.
struct key_source {
  std::string prefix;
  std::uint64_t seed = 0;
  bool sequential = false;
  std::string key(std::uint64_t i) const;
};

/// Every bench key starts with this, so the bench can find (and delete) its own rows.
inline constexpr const char* bench_key_prefix = "phoenix-bench|ce:20:/phoenix/bench/store/";

/// A side's measurement, or why it failed (`error` non-empty); `transactions` the
/// write transactions it took.
struct store_outcome {
  side_result result;
  std::string error;
  std::uint64_t transactions = 0;
};

/// How much one side writes: `keys` keys, `batch` per transaction, stopping at the
/// first batch boundary after `max_time`; the Phoenix side sends `per_request` keys in
/// one request (at most `batch`).
struct store_load {
  std::size_t batch = 1;
  std::uint64_t keys = 0;
  std::chrono::milliseconds max_time{0};
  key_source source;
  std::size_t per_request = 1;
};

/// Claims and completes keys with sqlite3 directly: BEGIN IMMEDIATE, per key the
/// store's claim statement (and its state check when the claim did not take) and
/// complete statement, COMMIT.
store_outcome run_raw_sqlite(const persistence::store_config& cfg, const store_load& load);

/// Claims and completes keys with libpqxx directly: per batch one transaction with one
/// claim and one complete statement over text[] arrays of the batch's keys.
store_outcome run_raw_postgres(const persistence::store_config& cfg,
                               const store_load& load);

/// The store actor (`batch_max` = load.batch / load.per_request, rounded up) on a store
/// opened from `cfg`, fed requests of `per_request` keys (claims, then completions) by a
/// driver actor keeping 2 x batch_max requests (at least 64) outstanding.
store_outcome run_phoenix_store(const persistence::store_config& cfg,
                                const store_load& load);

/// Writes `n` completed keys of `source` in large transactions (setup, not timed), and
/// for PostgreSQL first deletes every earlier bench key.
result<void> fill_store(const persistence::store_config& cfg, const key_source& source,
                        std::uint64_t n);

} // namespace phoenix::bench
