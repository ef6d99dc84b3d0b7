#pragma once

#include "phoenix/actors/kafka/idempotency.hpp"
#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/actors/policies/admission.hpp"
#include "phoenix/observability/readiness.hpp"
#include "phoenix/runtime/actor_slot.hpp"
#include "phoenix/runtime/retry_policy.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace phoenix::persistence {
class trace_log;
} // namespace phoenix::persistence

namespace phoenix::kafka {

struct group_consumer_config {
  /// librdkafka properties (`[kafka]` of the node config); `group.id` is required.
  /// Phoenix sets `enable.auto.offset.store=false` (it stores only offsets that are
  /// done), `enable.auto.commit=true` with `auto.commit.interval.ms` = `commit_interval`
  /// (librdkafka's timer sends what was stored), and, unless given,
  /// `partition.assignment.strategy=cooperative-sticky`, `auto.offset.reset=earliest`
  /// and `fetch.wait.max.ms=50` (a partition resumed after a pause waits for the next
  /// fetch; librdkafka's 500 ms would let its lanes run dry).
  std::map<std::string, std::string> properties;
  std::string origin = "<config>"; ///< Names the config source in error messages.
  std::size_t poll_batch = 1000;   ///< Records taken per poll round.
  /// Records in flight (dispatched, not done) per partition; at the bound the partition
  /// is paused, and resumed once half of them are done.
  std::size_t max_in_flight = 5000;
  /// Lanes per partition: with more than one, records of different keys run at once
  /// (records of one key stay in order), under the same commit rule.
  std::size_t key_concurrency = 1;
  std::chrono::milliseconds commit_interval{1000}; ///< Between asynchronous commits.
  /// How long a revoke may take to finish the revoked partitions' in-flight records and
  /// commit them (the rebalance waits for it), and how long a stopping consumer waits
  /// for its in-flight records.
  std::chrono::milliseconds drain_timeout{5000};
  /// How long the final commit of a stopping consumer retries while the group's
  /// coordinator moves.
  std::chrono::milliseconds commit_timeout{10000};
  /// Crashes on one record after which it moves on (retry topic, DLQ, or given up), even
  /// if its policy allows more attempts; crashes also count as attempts.
  int max_crashes_per_record = 3;
  std::chrono::milliseconds shutdown_timeout{15000};
  /// Effects once per key through the store; off unless `idempotency.store` is set.
  idempotency_config idempotency;
  /// Circuit breakers and tenant rate limits (the node's, shared by all its consumers);
  /// null: every record is admitted at once. While the breaker of a handler's
  /// downstream is open, the partitions of its topics are paused.
  std::shared_ptr<const policies::admission> admission;

  /// Retries in place, retry topics and dead-letter queue per topic (`[policy]`; see
  /// actors/README.md "Retries and dead letters"). The consumer also reads the retry
  /// topics its policies name (`<topic>.retry.<n>`, with the topic's handler).
  runtime::retry_policies policies;
  /// The producer that moves records to retry topics and DLQs (the node's). Null: no
  /// retry topics, no DLQ; a record out of attempts is logged, counted as rejected and
  /// passed.
  std::shared_ptr<const runtime::actor_slot> producer;
  std::string node_id; ///< Written into DLQ records.
  /// Where each record's journey goes (`message_traceability`, `phoenix trace`): rows
  /// received, handled, duplicate, retried, crashed, retry-topic, dead-lettered,
  /// given-up, keyed by the record's `ce_id`. Null: none written.
  std::shared_ptr<persistence::trace_log> trace;
  std::chrono::milliseconds produce_timeout{30000}; ///< Per request to the producer.
  /// How long the start may take to create the retry and DLQ topics (with a producer
  /// and `policies.topics.create`; see actors/README.md "Topics"). Those it could not
  /// create are logged and listed in `consumer_stats::policy_topics`; the start goes on.
  std::chrono::milliseconds topic_setup_timeout{10000};

  /// Rebalance hooks for application code, called on the consumer's thread after
  /// Phoenix has started the assigned partitions' actors, or after it has drained and
  /// committed the revoked ones (`lost`: taken away without a chance to commit).
  std::function<void(const std::vector<topic_partition>&)> on_assigned;
  std::function<void(const std::vector<topic_partition>&, bool lost)> on_revoked;
};

/// A supervised child that consumes the topics of `handlers` in one consumer group and
/// hands every record, decoded, to its topic's handler in the actor of its partition
/// (its lane, with per-key concurrency). The consumer runs in a detached actor that
/// owns the librdkafka handle and polls in a self-message loop, so stop requests and
/// progress are served between polls. Partition actors are started on assignment and
/// restarted (from the first record not yet done) when they crash. An offset is
/// committed only when it and every lower offset of its partition are done.
///
/// Errors (from the start function): errc::config_* for a property librdkafka rejects
/// or a missing `group.id`, errc::kafka_error when the consumer cannot be created or
/// subscribed, errc::invalid_argument without handlers or with a bad
/// `idempotency.scope`.
runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         std::map<std::string, handler> handlers,
                                         std::shared_ptr<consumer_stats> stats);

/// One handler for every topic in `topics`.
runtime::child_spec group_consumer_child(std::string id, group_consumer_config cfg,
                                         const std::vector<std::string>& topics, handler h,
                                         std::shared_ptr<consumer_stats> stats);

/// Adds the readiness check `name` ("retry and DLQ topics in place"): failing while
/// `stats->policy_topics` lists a topic, naming each with the reason it is missing.
void add_topics_readiness_check(observability::readiness& ready, const std::string& name,
                                std::shared_ptr<const consumer_stats> stats);

/// Adds the readiness check `name` ("consumer joined"): failing until the consumer has
/// joined its group and received an assignment (possibly empty: a member with nothing to
/// do is still a healthy member), and again after its partitions were lost (session
/// timeout) until the next assignment. Wraps `cfg.on_assigned`/`on_revoked`, calling
/// hooks already set there first.
void add_readiness_check(group_consumer_config& cfg, observability::readiness& ready,
                         const std::string& name);

} // namespace phoenix::kafka
