#pragma once

#include "phoenix/persistence/types.hpp"
#include "phoenix/runtime/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::sagas {

/// Where a saga is. `completed`, `compensated` and `compensation_failed` are final.
enum class saga_status : std::uint8_t {
  running,             ///< Doing its steps.
  compensating,        ///< A step failed or timed out: undoing the completed ones.
  completed,           ///< Every step done.
  compensated,         ///< A step failed; every completed step was undone.
  compensation_failed, ///< A compensation kept failing: needs a person (never dropped).
};

enum class step_status : std::uint8_t {
  pending,             ///< Not started.
  running,             ///< Command sent (or local call made), awaiting its outcome.
  retry_wait,          ///< An attempt failed; the next one starts at `at`.
  done,                ///< Applied.
  failed,              ///< Its attempts failed: the saga compensates.
  timed_out,           ///< No outcome in time: compensated too, as it may have applied.
  compensating,        ///< Compensation sent, awaiting its outcome.
  compensation_wait,   ///< A compensation attempt failed; the next starts at `at`.
  compensated,         ///< Undone (or nothing to undo).
  compensation_failed, ///< Its compensation attempts failed.
};

const char* to_string(saga_status s) noexcept;
const char* to_string(step_status s) noexcept;
std::optional<saga_status> saga_status_from(const std::string& text) noexcept;
bool is_final(saga_status s) noexcept;

/// Microseconds since the epoch, as stored.
using micros = std::int64_t;
micros to_micros(persistence::time_point t) noexcept;
persistence::time_point from_micros(micros us) noexcept;

struct step_state {
  step_status status = step_status::pending;
  std::uint16_t attempts = 0; ///< Of the action, then of the compensation.
  /// When the current attempt started; for the *_wait states, when the next starts.
  micros at = 0;
};

/// One saga instance's state machine, as the coordinator keeps it in memory (it is the
/// cost of an idle saga) and as `saga_record::data` stores it.
struct saga_state {
  std::string id;
  std::string type;
  std::string data; ///< The input given to start.
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t version = 0;
  saga_status status = saga_status::running;
  std::uint16_t stage = 0;
  micros created = 0;
  micros updated = 0;
  std::string last_error;
  std::vector<step_state> steps;
  /// The W3C `traceparent` of the event that started the saga or last advanced it
  /// (empty if it had none): the commands the saga sends continue this trace.
  std::string trace;
};

/// The row written for `s` (version is not touched: the store sets it). The step names
/// are stored too, so inspection tools show a saga without knowing its definition.
persistence::saga_record to_record(const saga_state& s,
                                   const std::vector<std::string>& step_names);

/// Errors: errc::bad_message when `r.data` is not a state this build wrote.
result<saga_state> from_record(const persistence::saga_record& r);

/// The step names stored with the state, in declaration order.
/// Errors: errc::bad_message as `from_record`.
result<std::vector<std::string>> step_names_of(const persistence::saga_record& r);

} // namespace phoenix::sagas
