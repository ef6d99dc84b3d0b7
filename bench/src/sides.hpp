#pragma once

// The two sides of a consume round. Each reads every record of the dataset in a fresh
// consumer group and is timed from the first record its application code receives to
// the N-th record it finished; group join and shutdown are outside the clock.

#include "dataset.hpp"
#include "phoenix/bench/consume.hpp"
#include "thread_cpu.hpp"

#include <map>
#include <string>

namespace phoenix::bench {

/// The CPU a side used between two samples, into its result.
inline void set_cpu(side_result& out, const cpu_sample& first, const cpu_sample& last) {
  const auto used = cpu_between(first, last);
  out.cpu_seconds = used.process;
  out.librdkafka_cpu_seconds = used.librdkafka;
}

/// A side's measurement, or why it failed (`error` non-empty).
struct side_outcome {
  side_result result;
  std::string error;
};

/// Consumer group settings both sides share: bootstrap servers, the given group id,
/// earliest reset, no auto commit, cooperative-sticky assignment, and the session
/// timeouts the mock cluster's coordinator needs for a quick join.
std::map<std::string, std::string> group_properties(const std::string& bootstrap,
                                                    const std::string& group_id);

/// A plain librdkafka loop: subscribe, rd_kafka_consumer_poll() until N records, count
/// them per partition; one asynchronous commit at the end. Record contents (headers
/// included) are not parsed: this is the floor any framework builds on.
side_outcome run_raw_side(const std::map<std::string, std::string>& props,
                          const dataset& ds, const consume_options& opts);

/// The Phoenix pipeline: a supervisor (runtime::start_supervisor) with one
/// kafka::group_consumer_child and a handler that returns done, in a fresh CAF actor
/// system, until consumer_stats::handled reaches N.
side_outcome run_phoenix_side(const std::map<std::string, std::string>& props,
                              const dataset& ds, const consume_options& opts);

} // namespace phoenix::bench
