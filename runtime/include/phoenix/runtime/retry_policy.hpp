#pragma once

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::runtime {

/// What happens to a record whose handler fails (`retry`, `rejected`, a crash): attempts
/// in place with backoff, then the retry topics in turn, then the dead-letter queue. One
/// per topic (`[policy."<topic>"]`), with `[policy.default]` for the others. The actors
/// module applies it (actors/policies/retry.hpp).
struct retry_policy {
  /// Handler calls per record at one level (the topic itself or one retry topic),
  /// crashes included; then the record moves on.
  int attempts = 3;
  /// Full-jitter backoff between attempts in place: uniform(0, min(cap, base * 2^(n-1)))
  /// after the n-th failed attempt.
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{2000};
  /// Longest a record may stay in place (its attempts and waits at one level): a wait
  /// that would end later moves it to the next level at once. Below half of the
  /// consumers' `max.poll.interval.ms` (the node refuses a config above it; a consumer
  /// configured in code is kept below it).
  std::chrono::milliseconds max_in_place{4000};
  /// Delays of the retry topics `<topic>.retry.1`, `.retry.2`, ...; empty: none.
  std::vector<std::chrono::milliseconds> retry_topics;
  /// Records that fail every level (and undecodable ones) go to `<topic>.dlq`; false:
  /// they are logged, counted as rejected and passed.
  bool dlq = true;

  static constexpr int max_attempts = 100;
  static constexpr std::size_t max_retry_topics = 10;
  static constexpr std::chrono::milliseconds max_delay{7LL * 24 * 3600 * 1000};
};

/// How a node creates the retry and DLQ topics its policies need (`[policy]` keys
/// `create_topics`, `topic_partitions`, `topic_replication_factor`): when a Kafka
/// consumer with a producer starts, through the Admin API, before it subscribes.
struct policy_topics {
  bool create = true; ///< false: create them yourself (a missing one holds its records)
  /// Partitions of each created topic; 0: as many as its source topic has (the
  /// brokers' default when the source topic is unknown).
  int partitions = 0;
  /// Replication factor of each created topic; -1: the brokers'
  /// `default.replication.factor`.
  int replication_factor = -1;
};

/// `[policy]`: the retry policy of every topic.
struct retry_policies {
  retry_policy fallback;                        ///< `[policy.default]`
  std::map<std::string, retry_policy> by_topic; ///< `[policy."<topic>"]`
  policy_topics topics; ///< `[policy]` create_topics, topic_partitions, ...

  /// The policy of `topic`: its own, else the default.
  const retry_policy& of(std::string_view topic) const;
};

/// Checks one policy: attempts 1..100, base and cap positive with base <= cap,
/// max_in_place >= cap, up to 10 retry topics with delays from 1 ms to 7 days.
/// Errors: errc::config_bad_value naming `<where> <key>`, e.g.
/// `node.toml: [policy."orders"] backoff_base_ms: ...`.
result<void> validate_retry_policy(const retry_policy& p, const std::string& where);

} // namespace phoenix::runtime
