#pragma once

#include "phoenix/runtime/envelope.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// An envelope read in place: the same rules as `decode_envelope`, but every field points
// into the record's headers and payload instead of owning a copy. This is what a consumer
// hands its handlers for each record; an application that keeps an event past the call
// takes an owning `envelope` with `to_envelope()`.

namespace phoenix::runtime {

/// One record header, not owned.
struct header_view {
  std::string_view key;
  std::string_view value;
};

/// A W3C `traceparent` read in place.
struct trace_context_view {
  std::string_view trace_id;  ///< 32 lowercase hex digits, not all zero.
  std::string_view parent_id; ///< 16 lowercase hex digits, not all zero.
  std::uint8_t flags = 0;

  trace_context to_owned() const;

  /// As `trace_context::parse`, without copying.
  /// Errors: `envelope_errc::bad_traceparent` (see `trace_context::parse`).
  static result<trace_context_view> parse(std::string_view text);
};

/// A decoded CloudEvent whose fields point into the record it was read from: valid only
/// while that record's headers and payload are (for a handler: during the call).
class envelope_view {
public:
  std::string_view id;
  std::string_view source;
  std::string_view type;
  std::string_view specversion = "1.0";
  std::string_view content_type = "application/json";
  std::optional<std::string_view> time;
  std::optional<std::string_view> subject;
  std::optional<trace_context_view> trace;
  std::optional<std::string_view> tenant_id;
  std::optional<std::string_view> idempotency_key;
  std::string_view payload;

  /// Calls `f(const header_view&)` for every header the envelope does not map to a
  /// field, in record order (what `envelope::extensions` holds).
  template <class F>
  void for_each_extension(F&& f) const {
    for (std::size_t i = 0; i < header_count_; ++i)
      if (!is_mapped_header(headers_[i].key))
        f(headers_[i]);
  }

  /// An owning copy, for code that keeps the event.
  envelope to_envelope() const;

  /// True for the header keys the envelope maps to fields (`ce_id`, ..., see
  /// `decode_envelope`); all others are extensions.
  static bool is_mapped_header(std::string_view key) noexcept;

private:
  const header_view* headers_ = nullptr; // all headers of the record, in order
  std::size_t header_count_ = 0;

  friend result<envelope_view> decode_envelope_view(const header_view* headers,
                                                    std::size_t count,
                                                    std::string_view payload,
                                                    const envelope_limits& limits);
  friend envelope_view view_of(const envelope& env, std::vector<header_view>& storage);
};

/// A view of an owning envelope, for code that holds one and calls a handler that takes
/// views. `storage` receives views of its extensions (those under a mapped key are left
/// out) and must outlive the result, as must `env`.
envelope_view view_of(const envelope& env, std::vector<header_view>& storage);

/// Reads an envelope in place from `count` headers and a payload, by the rules and with
/// the errors of `decode_envelope`. The view points into `headers` (which must outlive
/// it) and into the bytes they and `payload` point to. Copies nothing on success.
result<envelope_view> decode_envelope_view(const header_view* headers, std::size_t count,
                                           std::string_view payload,
                                           const envelope_limits& limits = {});

} // namespace phoenix::runtime
