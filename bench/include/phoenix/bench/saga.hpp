#pragma once

#include "phoenix/runtime/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace phoenix::bench {

struct saga_options {
  std::uint64_t sagas = 20000;    ///< 3-step sagas run to completion per round.
  std::uint64_t in_flight = 5000; ///< Started but not finished, at most.
  std::uint64_t idle = 100000;    ///< Sagas left waiting for the memory measure.
  int rounds = 3;
  std::string sqlite_path; ///< Empty: a file in a temporary directory.
  /// The store actor's group-commit window (`[store] batch_window_us`), the node's default.
  std::int64_t store_window_us = 500;
  /// The outbox relay's rounds at once (`sagas::relay_options::rounds_in_flight`).
  std::uint64_t relay_rounds = 2;
};

/// What `phoenix bench saga` measured.
struct saga_report {
  saga_options options;
  std::vector<double> sagas_per_second; ///< One per round.
  std::vector<double> p50_ms;           ///< Saga duration, start to durable final state.
  std::vector<double> p99_ms;
  /// Process CPU time (user + system, all threads) per saga, per round: the rate's
  /// share of the machine, less sensitive than the rate to other load on it.
  std::vector<double> cpu_us_per_saga;
  /// Outbox rows the relay published per round, over the timed rounds (each round costs
  /// the store a read and a write besides the rows).
  double outbox_rows_per_round = 0;
  /// RSS growth / idle sagas, once all are passivated (state, store cache, outbox).
  double bytes_per_idle_saga = 0;
  double goal_sagas_per_second = 10000;
  double goal_bytes_per_idle_saga = 1024;
  unsigned cores = 0;
  std::string allocator; ///< runtime::allocator_name(): it moves the rates.
  std::string command;
  std::string error;
};

/// Runs `phoenix bench saga`: the real coordinator, outbox relay and group-commit store
/// actor on SQLite, with in-process participants that answer every command at once.
/// Per round, `sagas` sagas of 3 steps run with at most `in_flight` at once; then
/// `idle` sagas are started whose first step is never answered, and the process's RSS
/// growth is divided by their number.
/// Errors: runtime::errc::invalid_argument for bad options.
result<saga_report> run_saga(const saga_options& opts);

std::string to_json(const saga_report& r);
std::string summary_line(const saga_report& r);

} // namespace phoenix::bench
