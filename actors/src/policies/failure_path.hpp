#pragma once

// What a lane needs to apply the retry policy (actors/policies/retry.hpp) to its
// records: the policy of the topic, where failed records go, and the state of the record
// it is failing on. Private to the actors module; lane_worker.cpp drives it.

#include "phoenix/actors/kafka/group_consumer.hpp"
#include "phoenix/actors/kafka/producer_actor.hpp"
#include "phoenix/actors/policies/retry.hpp"
#include "phoenix/runtime/actor_slot.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace phoenix::policies {

/// The policy of one consumed topic as its lanes apply it.
struct lane_policy {
  runtime::retry_policy policy;
  std::string topic; ///< The original topic (also for a retry topic's lanes).
  int level = 0;     ///< 0: the topic itself; n: `<topic>.retry.<n>`.
  std::shared_ptr<const runtime::actor_slot>
      producer; ///< Null: nothing is moved, only given up.
  std::string node_id;
  std::string group; ///< The consumer group, named in traceability rows.
  std::chrono::milliseconds produce_timeout{30000};
  int max_crashes = 3; ///< Crashes on one record before it moves on, whatever attempts say.
};

using lane_policies = std::map<std::string, std::shared_ptr<const lane_policy>>;

/// The lane policy of every topic of `handlers` (`max_in_place` kept below half of
/// `max.poll.interval.ms`), and the retry topics their policies name, each added to
/// `handlers` with its original topic's handler (only with a producer: without one nothing
/// reaches a retry topic).
lane_policies add_retry_topics(const kafka::group_consumer_config& cfg,
                               std::map<std::string, kafka::handler>& handlers);

/// Creates the retry and DLQ topics `lanes` move records to (only lanes with a
/// producer move any) unless `done` lists them already, as `cfg.policies.topics` says
/// (off: nothing is done), within `cfg.topic_setup_timeout`; adds what was created or
/// found to `done`. A topic that cannot be created goes into `missing` with the reason,
/// logged as an error (an authorization failure says which ACL is lacking); the start
/// goes on, and a record that needs the topic stays uncommitted until it exists.
void ensure_policy_topics(const kafka::group_consumer_config& cfg,
                          const lane_policies& lanes, kafka::missing_topics& missing,
                          std::set<std::string>& done);

/// Milliseconds since the Unix epoch, as the failure headers carry time.
std::int64_t wall_ms();

/// The record a lane is failing on (one at a time: a lane runs its records in order).
struct record_failure {
  std::int64_t offset = -1; ///< -1: none.
  int attempts = 0;         ///< At this level, crashes included.
  int prior = 0;            ///< At the levels before (from a retry topic's headers).
  failure_marks marks;      ///< What goes into the headers when it moves on.
  std::chrono::steady_clock::time_point since; ///< Its first attempt at this level.
  std::optional<kafka::handler_status> answer; ///< An actor handler's, not yet applied.

  /// Starts on the record at `offset` whose headers said `earlier` (a retry topic's).
  void start(std::int64_t at, const lane_policy& p, std::int32_t partition,
             failure_marks earlier);

  /// Counts a failed attempt.
  void failed(std::string error_class, std::string message);

  void clear() { offset = -1; }
};

/// The record to produce for `step` (retry topic or DLQ): the original key, value and
/// headers, and the failure headers.
kafka::outgoing_record moved_record(const lane_policy& p, const next_step& step,
                                    const record_failure& f, std::string_view key,
                                    std::string_view value,
                                    const std::vector<runtime::header_view>& headers);

} // namespace phoenix::policies
