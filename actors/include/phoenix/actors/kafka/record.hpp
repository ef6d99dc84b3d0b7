#pragma once

#include "phoenix/runtime/envelope.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace phoenix::kafka {

/// Where a record sits in Kafka.
struct record_position {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// A record as consumed, before decoding.
struct consumed_record {
  record_position pos;
  std::string key;
  std::string value;
  std::vector<runtime::header> headers;
};

/// What a handler made of a record.
enum class handler_status {
  done,     ///< Effects applied; the offset may be committed.
  retry,    ///< Transient failure; try the record again.
  rejected, ///< Permanent failure; the record will not succeed as it is.
};

/// Application code for one topic. Runs in the partition's actor: records of one
/// partition arrive in offset order, one at a time. An exception counts as a crash: the
/// partition actor is restarted and the record handed over again.
using record_handler =
    std::function<handler_status(const runtime::envelope&, const record_position&)>;

/// Counters of a group consumer, readable from any thread.
struct consumer_stats {
  std::atomic<std::uint64_t> consumed{0};    ///< Records taken from Kafka.
  std::atomic<std::uint64_t> handled{0};     ///< Records the handler finished as done.
  std::atomic<std::uint64_t> undecodable{0}; ///< Records that are no valid envelope.
  std::atomic<std::uint64_t> rejected{0};    ///< Rejected, or retried/crashed too often.
  std::atomic<std::uint64_t> retried{0};     ///< Handler asked for another attempt.
  std::atomic<std::uint64_t> restarts{0};    ///< Partition actors restarted after a crash.
  std::atomic<std::uint64_t> commits{0};     ///< Offset commits made.
};

} // namespace phoenix::kafka
