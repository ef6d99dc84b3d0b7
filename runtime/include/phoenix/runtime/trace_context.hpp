#pragma once

#include "phoenix/runtime/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// W3C Trace Context (https://www.w3.org/TR/trace-context/) and the span of the work
// running on a thread. Std-only, like the envelope codec that carries it.

namespace phoenix::runtime {

/// W3C Trace Context carried in the `traceparent` header.
struct trace_context {
  std::string trace_id;  ///< 32 lowercase hex digits, not all zero.
  std::string parent_id; ///< 16 lowercase hex digits, not all zero.
  std::uint8_t flags = 0;

  /// `00-<trace_id>-<parent_id>-<flags as 2 lowercase hex>`. Always writes version 00,
  /// the only version this codec speaks.
  std::string to_header() const;

  /// Parses a traceparent value of exactly 55 characters. Any version but `ff` is
  /// accepted and read with the version 00 layout, as the W3C spec asks of parsers.
  ///
  /// Errors: `envelope_errc::bad_traceparent` for a wrong length, a missing `-`,
  /// uppercase or non-hex digits, version `ff`, or an all-zero trace or parent id.
  static result<trace_context> parse(std::string_view text);
};

bool operator==(const trace_context& a, const trace_context& b);
inline bool operator!=(const trace_context& a, const trace_context& b) {
  return !(a == b);
}

/// The span of the work this thread runs now: the handling of one record. Phoenix opens
/// one around every handler call (group consumer lanes, in-process bus subscriptions)
/// when the record carries a `traceparent`; an actor handler, which runs in its own
/// actor, opens one itself from the envelope it receives:
///
/// ```cpp
/// [](kafka::handle_atom, const runtime::envelope& ev, const kafka::record_position&) {
///   runtime::trace_scope span{ev.trace};
///   // envelopes made here continue ev's trace; log lines carry its ids
/// }
/// ```
///
/// While a scope is open, `current_trace()` is the context to give what the work
/// produces (same trace id and flags, parent id = this span's id), every new
/// `runtime::envelope` and `kafka::outgoing_record` starts with it, and log lines name
/// the trace and span. The span id is made at first use, so a span nobody looks at costs
/// a copy of the trace id. Scopes nest; each restores the one before when it closes.
/// Not copyable or movable: it belongs to the stack frame that opened it.
class trace_scope {
public:
  /// Opens no span (for code that has a context only sometimes).
  trace_scope() noexcept;
  /// A span continuing the trace `trace_id` (32 lowercase hex digits, as read from a
  /// `traceparent`) with `flags`. An empty or malformed `trace_id` opens no span.
  trace_scope(std::string_view trace_id, std::uint8_t flags) noexcept;
  /// A span continuing `parent`; none when `parent` is empty.
  explicit trace_scope(const std::optional<trace_context>& parent) noexcept;
  ~trace_scope();

  trace_scope(const trace_scope&) = delete;
  trace_scope& operator=(const trace_scope&) = delete;

  /// True if this scope opened a span.
  bool active() const noexcept { return active_; }

private:
  friend struct trace_frame_access;
  bool active_ = false;
  bool span_made_ = false;
  std::uint8_t flags_ = 0;
  char trace_id_[32];
  char span_id_[16];
  trace_scope* outer_ = nullptr;
};

/// The context for what the current span produces: its trace id and flags, and its own
/// span id as the parent id. nullopt when no span is open on this thread.
std::optional<trace_context> current_trace();

/// Appends ` trace_id=<32 hex> span_id=<16 hex>` for the span open on this thread, or
/// nothing: what the text log format adds to each line.
void append_trace_fields(std::string& out);

/// The open span's trace and span ids as views valid until the span closes; both empty
/// when no span is open.
struct trace_ids {
  std::string_view trace_id;
  std::string_view span_id;
};
trace_ids current_trace_ids();

/// The message whose handling runs on this thread now, for traceability: every
/// `runtime::envelope` and `kafka::outgoing_record` made while a cause scope is open
/// starts with its id as `cause`, and the producer writes each record it delivers into
/// the journey of its cause (a "produced" row of `phoenix trace <cause>`). Consumer lanes
/// open one around every function handler call when traceability is on; an actor
/// handler opens one itself from the envelope's `cause`. The id must outlive the scope.
/// Scopes nest; not copyable or movable.
class cause_scope {
public:
  /// An empty `message_id` opens no scope.
  explicit cause_scope(std::string_view message_id) noexcept;
  ~cause_scope();
  cause_scope(const cause_scope&) = delete;
  cause_scope& operator=(const cause_scope&) = delete;

private:
  std::string_view id_;
  const cause_scope* outer_ = nullptr;
  bool active_ = false;
  friend std::string_view current_cause() noexcept;
};

/// The id of the innermost open cause scope on this thread; empty when none is open.
std::string_view current_cause() noexcept;

} // namespace phoenix::runtime
