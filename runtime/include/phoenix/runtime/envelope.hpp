#pragma once

#include "phoenix/runtime/error.hpp"
#include "phoenix/runtime/trace_context.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

// The CloudEvents Kafka binding in binary mode (DESIGN.md §7): event attributes travel
// as record headers, the record value is the payload. Std-only on purpose, so that the
// codec can be unit-tested and fuzzed without CAF or librdkafka.

namespace phoenix::runtime {

/// Why a record's headers do not form a valid envelope.
enum class envelope_errc {
  missing_header =
      1, ///< A required header (ce_id, ce_source, ce_type, ce_specversion) is absent.
  duplicate_header,  ///< A header the envelope maps to a field appears more than once.
  bad_specversion,   ///< ce_specversion is not "1.0".
  header_too_large,  ///< A header key or value is longer than `max_header_value`.
  too_many_headers,  ///< The record has more than `max_headers` headers.
  payload_too_large, ///< The payload is longer than `max_payload`.
  invalid_utf8,      ///< A text header is not strict UTF-8 or holds a control character.
  empty_value,       ///< A header that must carry text is empty.
  bad_traceparent,   ///< traceparent is not a valid W3C trace context (version 00 layout).
};

const std::error_category& envelope_category() noexcept;

inline std::error_code make_error_code(envelope_errc e) noexcept {
  return {static_cast<int>(e), envelope_category()};
}

} // namespace phoenix::runtime

template <>
struct std::is_error_code_enum<phoenix::runtime::envelope_errc> : std::true_type {};

namespace phoenix::runtime {

/// One Kafka record header. The value is raw bytes and may contain anything, NUL included.
struct header {
  std::string key;
  std::string value;
};

bool operator==(const header& a, const header& b);
inline bool operator!=(const header& a, const header& b) {
  return !(a == b);
}

/// A decoded CloudEvent. `extensions` holds every header the envelope does not map to a
/// field (other `ce_*` attributes, unrelated application headers) in record order, so a
/// consumer can re-publish the record without losing any of them.
struct envelope {
  std::string id;
  std::string source;
  std::string type;
  std::string specversion = "1.0";
  std::string content_type = "application/json";
  std::optional<std::string> time;
  std::optional<std::string> subject;
  /// The event's W3C trace context (`traceparent`). A new envelope made while a record
  /// is being handled on this thread starts with the handling span's context (see
  /// `trace_scope`), so an event published for a record continues its trace; decoding
  /// sets it from the record.
  std::optional<trace_context> trace = current_trace();
  std::optional<std::string> tenant_id;
  std::optional<std::string> idempotency_key;
  std::vector<header> extensions;
  std::string payload;
  /// The message being handled when this envelope was made (`cause_scope`), whose
  /// journey records what is produced from it. Not on the wire; not compared.
  std::string cause{current_cause()};
};

bool operator==(const envelope& a, const envelope& b);
inline bool operator!=(const envelope& a, const envelope& b) {
  return !(a == b);
}

/// Bounds that decoding enforces before it copies anything, so a hostile record cannot
/// make a consumer allocate without limit.
struct envelope_limits {
  std::size_t max_header_value = 4096; ///< Bytes per header key and per header value.
  std::size_t max_headers = 64;
  std::size_t max_payload = 1 << 20;
};

/// True if `text` is strict UTF-8: no overlong forms, no surrogates (U+D800..U+DFFF),
/// nothing above U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view text) noexcept;

/// Reads an envelope from a record's headers and payload.
///
/// Headers are matched by exact, case-sensitive key: `ce_id`, `ce_source`, `ce_type`,
/// `ce_specversion`, `content-type`, `ce_time`, `ce_subject`, `traceparent`,
/// `tenant-id`, `idempotency-key`. All others go to `extensions` in order. A missing
/// `content-type` leaves the default `application/json`.
///
/// Errors (the message names the header concerned, with unprintable bytes escaped):
/// - `too_many_headers`: more than `limits.max_headers` headers.
/// - `payload_too_large`: payload longer than `limits.max_payload`.
/// - `header_too_large`: a key or value longer than `limits.max_header_value`.
/// - `duplicate_header`: any of the mapped headers above appears twice. This is stricter
///   than "required headers only": two `tenant-id` or `idempotency-key` headers would let
///   different readers disagree on which one counts.
/// - `missing_header`: `ce_id`, `ce_source`, `ce_type` or `ce_specversion` absent.
/// - `bad_specversion`: `ce_specversion` is not exactly `1.0`.
/// - `empty_value`: `ce_id`, `ce_source`, `ce_type`, `tenant-id` or `idempotency-key`
/// empty.
/// - `invalid_utf8`: one of those five is not strict UTF-8 or contains a control
///   character (U+0000..U+001F, U+007F..U+009F).
/// - `bad_traceparent`: see `trace_context::parse`.
///
/// Never throws on any input (short of allocation failure).
result<envelope> decode_envelope(const std::vector<header>& headers,
                                 std::string_view payload,
                                 const envelope_limits& limits = {});

/// The record headers for `env`, in the order ce_id, ce_source, ce_type, ce_specversion,
/// content-type, then ce_time, ce_subject, traceparent, tenant-id, idempotency-key when
/// set, then `extensions` unchanged. The payload is the record value and is not included.
///
/// `content-type` is always written, so a record decoded without one comes back with one
/// more header: re-decoding it needs `max_headers` to allow for that.
std::vector<header> encode_headers(const envelope& env);

} // namespace phoenix::runtime
