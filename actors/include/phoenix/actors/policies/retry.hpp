#pragma once

// The resilience rules for a record whose handler failed: retry in place with backoff,
// then the retry topics in turn, then the dead-letter queue (actors/README.md,
// "Retries and dead letters"). Pure functions: the lanes apply them.

#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/envelope_view.hpp"
#include "phoenix/runtime/retry_policy.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phoenix::policies {

/// `<topic>.retry.<level>` (level 1, 2, ...).
std::string retry_topic(std::string_view topic, int level);

/// `<topic>.dlq`.
std::string dlq_topic(std::string_view topic);

/// The original topic and level of a retry topic name; nullopt for any other name.
std::optional<std::pair<std::string, int>> parse_retry_topic(std::string_view name);

/// Headers Phoenix adds to a record it moves to a retry topic or the DLQ. Everything else
/// on the record is kept as it was: key, value and the original headers, in order.
namespace header {
inline constexpr std::string_view error_class = "phoenix-error-class";
inline constexpr std::string_view error_message = "phoenix-error-message";
inline constexpr std::string_view attempts = "phoenix-attempts"; ///< All levels so far.
inline constexpr std::string_view original_topic = "phoenix-original-topic";
inline constexpr std::string_view original_partition = "phoenix-original-partition";
inline constexpr std::string_view original_offset = "phoenix-original-offset";
/// Milliseconds since the Unix epoch of the record's first failed attempt.
inline constexpr std::string_view first_failure = "phoenix-first-failure-ms";
inline constexpr std::string_view node_id = "phoenix-node-id";
/// Retry topics only: not handled before this time (ms since the Unix epoch).
inline constexpr std::string_view due = "phoenix-due-ms";
} // namespace header

/// True for the names above.
bool is_failure_header(std::string_view name);

/// Why a record failed, as the DLQ and retry topics carry it.
struct failure_marks {
  std::string error_class;   ///< handler_retry, handler_rejected, crash, undecodable
  std::string error_message; ///< The handler's exception text, the decoder's reason, ...
  int attempts = 0;          ///< Handler calls over all levels, crashes included.
  std::string original_topic;
  std::int32_t original_partition = -1;
  std::int64_t original_offset = -1;
  std::int64_t first_failure_ms = -1;
  std::string node_id;
  std::int64_t due_ms = -1; ///< Retry topics only; -1: none.
};

/// What a record's headers say about earlier failures (all fields at their defaults when
/// it has none: a record of the original topic).
failure_marks read_marks(const std::vector<runtime::header_view>& headers);

/// The headers of a record moved on: `original` without earlier failure headers (a record
/// from a retry topic), then the failure headers of `marks`.
std::vector<runtime::header> with_marks(const std::vector<runtime::header_view>& original,
                                        const failure_marks& marks);

/// What to do with a record after a failed attempt.
struct next_step {
  enum class kind {
    retry_in_place, ///< Call the handler again after `delay`.
    retry_topic,    ///< Produce it to retry topic `level`, due after `delay`.
    dead_letter,    ///< Produce it to the DLQ.
    give_up,        ///< No DLQ: log, count, pass.
  };
  kind what = kind::give_up;
  std::chrono::milliseconds delay{0};
  int level = 0;
};

/// The step after a failed attempt at `level` (0: the topic itself, n: retry topic n).
/// `attempts` counts the attempts at this level, the failed one included; `in_place_for`
/// is how long the record has been at this level; `wait` the backoff drawn for the next
/// attempt (full_jitter). A `permanent` failure (rejected, undecodable) goes straight to
/// the DLQ. An attempt in place is made only if one is left and its wait ends within
/// `max_in_place`; otherwise the record moves to the next retry topic, after the last to
/// the DLQ.
next_step after_failure(const runtime::retry_policy& p, int level, int attempts,
                        std::chrono::milliseconds in_place_for,
                        std::chrono::milliseconds wait, bool permanent);

/// The longest time in place a consumer with these librdkafka properties allows: just
/// below half of `max.poll.interval.ms` (librdkafka's default 300000).
std::chrono::milliseconds
in_place_limit(const std::map<std::string, std::string>& properties);

/// Checks the policies against a consumer's librdkafka properties: every
/// `max_in_place` stays below half of `max.poll.interval.ms` (default 300000), so a
/// record waiting in place never holds its partition near the group's limit.
/// Errors: errc::config_bad_value naming `<origin>: [policy...] max_in_place_ms`.
result<void> check_in_place_bounds(const runtime::retry_policies& policies,
                                   const std::map<std::string, std::string>& properties,
                                   const std::string& origin);

} // namespace phoenix::policies
