#pragma once

#include "phoenix/bench/report.hpp"
#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace phoenix::bench {

struct store_options {
  /// Backends to measure, in order: "sqlite", "postgres".
  std::vector<std::string> backends = {"sqlite", "postgres"};
  /// Keys per transaction: the store actor's `batch_max`, and the raw loop's batch.
  std::vector<std::size_t> batches = {1, 100, 1000};
  /// Completed keys written before the first measurement, as a store in service holds.
  std::uint64_t existing = 1000000;
  /// Keys each side writes per measurement, at most ...
  std::uint64_t keys = 200000;
  /// ... and no longer than this (a side stops at its next batch after it): at batch
  /// size 1, PostgreSQL makes one synchronous commit per key.
  std::chrono::milliseconds max_time{5000};
  int rounds = 3;
  /// SQLite database file; empty: a file in a temporary directory, removed at the end.
  std::string sqlite_path;
  /// PostgreSQL connection string (a scratch database); empty: PostgreSQL is skipped.
  std::string postgres_dsn;
  /// SQLite `synchronous` for both sides ("normal", the store's default, or "full").
  std::string synchronous = "normal";
  /// Key order: "random" (UUIDv4-like ids: every key lands on another B-tree page) or
  /// "sequential" (time-ordered ids such as ULIDs or counters: keys append).
  std::string key_order = "random";
  /// Keys per request to the store actor (at most the batch size): 1 is one request per
  /// key; the partition pipeline sends one request per lane batch (all its keys).
  std::size_t keys_per_request = 1;
};

/// One backend at one batch size: raw and Phoenix side by side, per round.
struct store_measure {
  std::string backend;
  std::size_t batch = 0;
  std::vector<side_result> raw;     ///< One per round; `records` are keys.
  std::vector<side_result> phoenix; ///< One per round.
  /// Transactions the store actor made per round: keys / this is the batch it reached.
  std::vector<std::uint64_t> phoenix_transactions;
  std::string error; ///< Why the measurement stopped, if it did.

  double raw_median() const;     ///< keys/s over the rounds.
  double phoenix_median() const; ///< keys/s over the rounds.
  double ratio() const;          ///< phoenix_median() / raw_median().
};

/// What `phoenix bench store` measured, and how, so the run can be repeated.
struct store_report {
  std::uint64_t existing = 0;
  std::uint64_t keys = 0;
  std::chrono::milliseconds max_time{0};
  int rounds = 0;
  std::string synchronous;
  std::string key_order;
  std::size_t keys_per_request = 1;
  std::vector<store_measure> measures;
  std::vector<std::string> skipped; ///< "postgres: no --postgres DSN given", ...
  double goal_ratio = 0.8;          ///< Phoenix / raw at every measure; information only.
  double goal_sqlite_rate = 100000; ///< keys/s of Phoenix on SQLite at its best batch.
  unsigned cores = 0;
  std::string allocator; ///< runtime::allocator_name(): it moves the rates.
  std::string command;   ///< The command line that repeats this run.

  bool failed() const; ///< Some measurement did not complete.
};

/// Runs `phoenix bench store`: per backend, a fresh database (SQLite: a new file;
/// PostgreSQL: the bench's own keys deleted first) filled with `existing` completed
/// keys; then for every batch size, `rounds` rounds of the raw side followed by the
/// Phoenix side, each claiming and completing new keys:
///
/// - raw: a hand-written loop on the vendor API (sqlite3, libpqxx) with the store's
///   statements: per transaction of `batch` keys, SQLite runs claim and complete per
///   key through prepared statements; PostgreSQL sends one claim and one complete
///   statement over arrays of all the batch's keys.
/// - Phoenix: the group-commit store actor (`spawn_store_actor`, `batch_max` = batch /
///   keys_per_request) fed requests of `keys_per_request` keys (a claim and a
///   completion each) by an actor that keeps 2 x batch_max (at least 64) requests
///   outstanding, so the actor's batches fill; its window is 20 ms, so that batch_max,
///   not the window, ends a batch.
///
/// Progress goes to the log (stderr).
///
/// Errors: errc::invalid_argument for options out of range; the store errors when a
/// database cannot be opened or filled. A measurement that fails midway is reported
/// in the returned report (`failed()`).
result<store_report> run_store(const store_options& opts);

/// The report as JSON: `{"scenario":"store","existing_keys":..,"keys":..,
/// "max_seconds":..,"rounds":..,"synchronous":"normal","key_order":"random","keys_per_request":1,"measures":[{"backend":"sqlite",
/// "batch":100,"rounds":[{"raw_keys_per_s":..,"phoenix_keys_per_s":..,"ratio":..,
/// "raw_keys":..,"raw_seconds":..,"raw_cpu_seconds":..,"phoenix_keys":..,
/// "phoenix_seconds":..,"phoenix_cpu_seconds":..,"phoenix_keys_per_transaction":..}],
/// "raw_keys_per_s_median":..,
/// "phoenix_keys_per_s_median":..,"ratio":..,"goal_ratio_met":..}],"skipped":[..],
/// "goals":{"ratio":0.8,"ratio_met":..,"sqlite_keys_per_s":100000,"sqlite_met":..},
/// "timing":"..","machine":{"cores":..},"command":".."}`; a failed measure carries
/// `"error"`.
std::string to_json(const store_report& report);

/// One line for people per measure, and the goals.
std::string summary_lines(const store_report& report);

} // namespace phoenix::bench
