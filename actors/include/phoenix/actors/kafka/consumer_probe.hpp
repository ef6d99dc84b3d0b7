#pragma once

#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/observability/metrics.hpp"

#include <memory>
#include <string>

namespace phoenix::kafka {

/// The group consumers' metrics. Nothing happens per record: when `/metrics` is scraped,
/// the probe reads the `consumer_stats` of every consumer added (labels `consumer`,
/// `topic`, `partition`):
/// - `phoenix_records_{consumed,handled,rejected,retried,undecodable}_total` per topic
///   (`retried`: attempts in place scheduled)
/// - retries and dead letters per topic: `phoenix_record_failed_attempts_total`,
///   `phoenix_records_retry_topic_total`, `phoenix_records_dead_lettered_total`,
///   `phoenix_record_move_failures_total` (producing to a retry topic or the DLQ failed)
/// - `phoenix_record_handling_seconds` histogram per topic (handler time, all attempts)
/// - `phoenix_consumer_lag_records` per assigned partition (log end - committed offset,
///   once the partition has a commit)
/// - `phoenix_partition_in_flight_records` per assigned partition: records in the
///   channels of its lane actors, not done yet
/// - `phoenix_offset_commit_seconds` histogram (synchronous commits: revoke, stop),
///   `phoenix_offset_commits_total`, `phoenix_offset_commit_failures_total`,
///   `phoenix_partition_pauses_total`, `phoenix_assigned_partitions` per consumer
/// - `phoenix_partition_fetch_pauses_total` per consumer: pauses at the bound that also
///   paused librdkafka (what it fetched for the partition passed the bound; see
///   actors/README.md, Backpressure)
/// - idempotent consumer: `phoenix_records_duplicate_total` per consumer and topic,
///   `phoenix_store_retries_total`, `phoenix_store_waiting_lanes` per consumer
/// - `phoenix_breaker_paused_partitions` per consumer: paused while the breaker of their
///   handler's downstream is open
/// - `phoenix_policy_topics_missing` per consumer: retry and DLQ topics it needs and
///   could not create or find (`consumer_stats::policy_topics`)
/// Partition actor restarts are counted by the health monitor
/// (`phoenix_actor_restarts_total{kind="partition"}`).
class consumer_probe {
public:
  /// Registers the probe with `metrics`; it renders its families (without samples) even
  /// before any consumer is added. One probe per registry.
  explicit consumer_probe(observability::metrics_registry& metrics);
  ~consumer_probe();

  /// Adds a consumer's counters, labelled `consumer=<id>`.
  void add(std::string consumer, std::shared_ptr<const consumer_stats> stats);

  class collector;

private:
  std::shared_ptr<collector> collector_;
};

} // namespace phoenix::kafka
