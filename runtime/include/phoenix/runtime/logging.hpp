#pragma once

#include "phoenix/runtime/config.hpp"

#include <iosfwd>
#include <string>
#include <string_view>

namespace phoenix::runtime {

/// Sends Phoenix's log lines (spdlog's default logger) to stderr at the configured level,
/// as text or as one JSON object per line with `ts`, `level`, `node`, `thread` and `msg`.
/// A line written while a record is handled (a `trace_scope` is open on the thread) also
/// names the trace: ` trace_id=<hex> span_id=<hex>` at the end of a text line, fields
/// `trace_id` and `span_id` in JSON. Stdout is left to commands' results.
void configure_logging(const log_config& cfg, const std::string& node_id);

/// As above, writing to `out` instead of stderr (tests read what was logged).
void configure_logging(const log_config& cfg, const std::string& node_id,
                       std::ostream& out);

/// Escapes `s` for use inside a JSON string (quotes, backslashes, control characters).
std::string json_escape(std::string_view s);

} // namespace phoenix::runtime
