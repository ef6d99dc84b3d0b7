#pragma once

#include "phoenix/runtime/config.hpp"

#include <string>
#include <string_view>

namespace phoenix::runtime {

/// Sends Phoenix's log lines (spdlog's default logger) to stderr at the configured level,
/// as text or as one JSON object per line with `ts`, `level`, `node`, `thread` and `msg`.
/// Stdout is left to commands' results.
void configure_logging(const log_config& cfg, const std::string& node_id);

/// Escapes `s` for use inside a JSON string (quotes, backslashes, control characters).
std::string json_escape(std::string_view s);

} // namespace phoenix::runtime
