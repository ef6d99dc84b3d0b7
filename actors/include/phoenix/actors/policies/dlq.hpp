#pragma once

// The dead-letter queue tools behind `phoenix dlq list|replay`: read `<topic>.dlq`
// without a consumer group (nothing committed, nothing moved), and re-publish chosen
// records to their original topic as they were first sent.

#include "phoenix/actors/policies/retry.hpp"
#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace phoenix::policies {

/// One record of a DLQ.
struct dlq_record {
  std::int32_t partition = -1; ///< In the DLQ topic.
  std::int64_t offset = -1;    ///< In the DLQ topic.
  std::string key;
  std::string value;
  bool null_key = false;   ///< The record has no key (`key` is empty).
  bool null_value = false; ///< The record has no value, a tombstone (`value` is empty).
  std::vector<runtime::header> headers; ///< As stored: the original ones, then the marks.
  failure_marks marks;                  ///< The failure headers, read.
};

/// Reads `<topic>.dlq` from its first record, all partitions, up to `limit` records
/// (0: all), as a client without a group: no offsets are committed.
/// Errors: errc::invalid_argument "unknown topic <topic>.dlq" when the cluster has no
/// such topic; errc::config_* for a property librdkafka rejects; errc::kafka_error when
/// the cluster does not answer within `timeout`.
result<std::vector<dlq_record>>
read_dlq(const std::map<std::string, std::string>& properties, const std::string& origin,
         const std::string& topic, std::size_t limit, std::chrono::milliseconds timeout);

/// Which DLQ records a replay takes: every condition must hold.
class dlq_filter {
public:
  /// From `field=value` terms: `key` (exact), `error` (error class), `partition` and
  /// `offset` (the original position), `node` (node id), `id` (CloudEvents `ce_id`).
  /// Errors: errc::invalid_argument naming the term and the fields there are.
  static result<dlq_filter> parse(const std::vector<std::string>& terms);

  bool matches(const dlq_record& r) const;

private:
  std::vector<std::pair<std::string, std::string>> terms_;
};

/// One record a replay published again.
struct replayed_record {
  /// The id its journey is kept under (`persistence::trace_message_id`): its `ce_id`,
  /// else its original `topic/partition/offset`.
  std::string message_id;
  std::int32_t dlq_partition = -1;
  std::int64_t dlq_offset = -1;
  std::string to;                                ///< The topic it went to.
  std::chrono::system_clock::time_point sent_at; ///< Just before it was produced.
};

/// What a replay did.
struct replay_counts {
  std::size_t read = 0;     ///< DLQ records read.
  std::size_t matched = 0;  ///< Of them, taken by the filter.
  std::size_t replayed = 0; ///< Of them, acknowledged by the original topic's brokers.
  std::vector<replayed_record> records; ///< The matched ones, in the order sent.
};

/// Re-publishes the DLQ records `filter` takes to their original topic (the
/// `phoenix-original-topic` header, else `topic`), with their original key, value and
/// headers (the failure headers removed), so the idempotency key is the one of the first
/// delivery: an idempotent consumer skips a record whose key is already complete, and a
/// second replay changes nothing. The DLQ itself is left as it is.
/// Errors: as read_dlq; errc::kafka_error when a record is not acknowledged within
/// `timeout` (the counts of what was acknowledged are in the message).
result<replay_counts> replay_dlq(const std::map<std::string, std::string>& properties,
                                 const std::string& origin, const std::string& topic,
                                 const dlq_filter& filter,
                                 std::chrono::milliseconds timeout);

} // namespace phoenix::policies
