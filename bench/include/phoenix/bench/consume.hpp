#pragma once

#include "phoenix/bench/report.hpp"
#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace phoenix::bench {

/// The mock cluster keeps only the newest 5 MiB of each partition and drops older record
/// batches silently. The consume scenario spreads its records over enough partitions
/// that each holds at most this much, leaving room for uneven key hashing.
inline constexpr std::size_t partition_budget_bytes = 4u << 20;

/// Bytes one bench record takes in a Kafka v2 record batch (key, value, CloudEvents
/// headers and per-record framing), rounded up.
std::size_t record_bytes(std::size_t value_bytes);

/// The fewest partitions (at least 3) that hold `records` records of `value_bytes`
/// within partition_budget_bytes each.
int partitions_for(std::uint64_t records, std::size_t value_bytes);

struct consume_options {
  std::uint64_t records = 1000000;
  int partitions = 0; ///< 0: partitions_for(records, value_bytes).
  std::size_t value_bytes = 100;
  /// Single rounds scatter from 0.6 to 1.4 of raw with librdkafka's fetch chain
  /// (bench/README.md); 11 narrow a run's ratio (0.86-1.06 over eight runs on the
  /// development VM, 0.78-1.05 with 5 rounds) at about 8 s a round.
  int rounds = 11;
  int brokers = 1;
  /// The Phoenix side's `group_consumer_config::max_in_flight`; 0 keeps its default.
  /// For looking at what pausing at the bound costs.
  std::size_t max_in_flight = 0;
  /// Run the remaining rounds after one failed (the run still fails).
  bool keep_going = false;
  /// A side that makes no progress for this long fails its round (records missing).
  std::chrono::milliseconds stall_timeout{30000};
  /// Bound on the group join, from subscribe to the first record.
  std::chrono::milliseconds join_timeout{60000};
};

/// Runs `phoenix bench consume`: starts a mock cluster, produces `records` keyed
/// CloudEvents records once, checks that every one of them is stored, then runs
/// `rounds` rounds of a raw librdkafka consumer loop followed by the Phoenix pipeline
/// (supervised group consumer, no-op handler), each side in a fresh consumer group
/// reading all records from the start. Progress goes to the log (stderr).
///
/// Errors: errc::invalid_argument for options out of range, errc::kafka_error when the
/// cluster, the topic or the producer fails or records are not all stored. A round that
/// fails (a side counted fewer records, or too many, or stalled) is reported in the
/// returned report (`failed()`), not as an error; without `keep_going` it ends the run.
result<consume_report> run_consume(const consume_options& opts);

} // namespace phoenix::bench
