#pragma once

#include "phoenix/runtime/error.hpp"

#include <map>
#include <string>

namespace phoenix::kafka {

/// Checks librdkafka properties (the `[kafka]` section of a config file, passed through
/// unchanged) by applying them, in key order, to a fresh librdkafka configuration. This
/// catches unknown keys and values librdkafka rejects at once; conflicts between keys
/// that librdkafka only detects when a client is created are not caught here.
///
/// `origin` names where the properties came from (a file path) and starts the message.
/// Errors: `runtime::errc::config_unknown_key` or `runtime::errc::config_bad_value`,
/// with the message `<origin>: [kafka] <key>: <librdkafka's reason>`.
result<void> validate_properties(const std::map<std::string, std::string>& props,
                                 const std::string& origin);

/// librdkafka's version as the linked library reports it, e.g. "2.0.2".
const char* librdkafka_version() noexcept;

} // namespace phoenix::kafka
