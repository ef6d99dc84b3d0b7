#pragma once

// The records every side of the consume scenario reads: produced once per run, then
// checked to be all there before any round starts.

#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace phoenix::bench {

/// What was produced and is stored: `per_partition[p]` records in partition p, from
/// offset 0. The counts sum to `records`.
struct dataset {
  std::string topic;
  std::uint64_t records = 0;
  std::vector<std::int64_t> per_partition;
};

/// Record `i` as produced: key "r<i>", a CloudEvent with id "r<i>", source
/// /phoenix/bench, a W3C traceparent derived from i, and a payload of `value_bytes`.
runtime::envelope bench_event(std::uint64_t i, std::size_t value_bytes);

/// Produces `records` records of `value_bytes` to `topic` (which has `partitions`
/// partitions) and checks with the brokers that every partition still holds all it
/// received from offset 0.
///
/// Errors: errc::kafka_error when the producer fails, a delivery fails, or a partition
/// lost its oldest records (the mock cluster keeps about 5 MiB per partition); the
/// message names the partition and the partition count that would fit.
result<dataset> produce_dataset(const std::string& bootstrap, const std::string& topic,
                                int partitions, std::uint64_t records,
                                std::size_t value_bytes);

} // namespace phoenix::bench
