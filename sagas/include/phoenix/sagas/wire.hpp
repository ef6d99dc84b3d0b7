#pragma once

// How commands and replies travel: as CloudEvents (runtime::envelope) whose record key is
// the saga id, with the saga's coordinates in extension headers. Participants use
// `read_command` and `make_reply`; the coordinator's reply handler uses `read_reply`.

#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/envelope_view.hpp"
#include "phoenix/sagas/definition.hpp"

#include <string>
#include <utility>
#include <vector>

namespace phoenix::sagas {

/// Header names of the saga extensions.
inline constexpr const char* saga_id_header = "saga-id";
inline constexpr const char* saga_type_header = "saga-type";
inline constexpr const char* saga_step_header = "saga-step";
inline constexpr const char* saga_kind_header = "saga-kind";
inline constexpr const char* saga_attempt_header = "saga-attempt";
inline constexpr const char* saga_reply_to_header = "saga-reply-to";
inline constexpr const char* saga_outcome_header = "saga-outcome";

/// A participant's answer, as the coordinator receives it.
struct saga_reply {
  saga_reply() = default;
  saga_reply(std::string id, std::string step_name, command_kind k, sagas::outcome o,
             std::string traceparent = {})
      : saga_id(std::move(id)), step(std::move(step_name)), kind(k), outcome(std::move(o)),
        trace(std::move(traceparent)) {}

  std::string saga_id;
  std::string step;
  command_kind kind = command_kind::action;
  sagas::outcome outcome;
  /// The reply's `traceparent` (empty if none): the commands the transition it causes
  /// sends continue this trace.
  std::string trace;
};

/// The envelope of `c`: `ce_id` is the command id, the payload is the saga's input.
/// A participant applies a command id once and answers every delivery of it (a resend
/// after a restart must be answered again, from what it remembers), so its consumer
/// runs without the idempotency gate, which would swallow the resend.
runtime::envelope command_envelope(const command& c);

/// Errors: errc::bad_message when a saga header is missing or wrong.
result<command> read_command(const runtime::envelope_view& ev);
result<command> read_command(const runtime::envelope& ev);

/// The reply a participant publishes to `c.reply_topic` with key `c.saga_id`.
runtime::envelope make_reply(const command& c, const outcome& o);

/// Errors: errc::bad_message when a saga header is missing or wrong.
result<saga_reply> read_reply(const runtime::envelope_view& ev);
result<saga_reply> read_reply(const runtime::envelope& ev);

/// Record headers packed into the outbox row's opaque `headers` (length-prefixed, any
/// bytes), and back. Errors: errc::bad_message for a truncated text.
std::string pack_headers(const std::vector<runtime::header>& hs);
result<std::vector<runtime::header>> unpack_headers(const std::string& text);

} // namespace phoenix::sagas
