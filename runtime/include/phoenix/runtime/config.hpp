#pragma once

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace phoenix::runtime {

enum class log_level { trace, debug, info, warn, error, critical, off };
enum class log_format { text, json };

/// `[log]`: where log lines go is fixed (stderr, so stdout stays for results).
struct log_config {
  log_level level = log_level::info;
  log_format format = log_format::text;
};

/// `[node]`
struct node_section {
  std::string id; ///< Defaults to the host name.
  /// Bound on the whole ordered shutdown after SIGTERM/SIGINT.
  std::chrono::milliseconds shutdown_timeout{15000};
};

/// `[supervisor]`: restart intensity of the node's supervisors.
struct supervision_config {
  int intensity = 10;
  std::chrono::milliseconds period{60000};
};

/// `[embedded]`: the in-process mock cluster used when `[kafka]` has no
/// `bootstrap.servers`.
struct embedded_config {
  int brokers = 3;
  int partitions = 3; ///< Partitions of the topics the node creates on it.
};

/// The whole node configuration, loaded and validated in one place.
struct node_config {
  std::string origin = "<defaults>"; ///< File it was read from, for error messages.
  node_section node;
  log_config log;
  supervision_config supervisor;
  embedded_config embedded;
  /// `[kafka]`: librdkafka properties, passed through unchanged (values as strings).
  std::map<std::string, std::string> kafka;

  /// True when no broker is configured and the embedded mock cluster is used.
  bool embedded_kafka() const { return kafka.count("bootstrap.servers") == 0; }
};

/// Reads and validates a TOML config file.
///
/// Errors: errc::config_unreadable (missing file, TOML syntax, with line and column),
/// errc::config_unknown_key, errc::config_wrong_type, errc::config_bad_value — each
/// message starts with the file and names the key, e.g.
/// `node.toml: [log] level: expected one of trace, debug, info, warn, error, critical,
/// off; got "loud"`. librdkafka's own checks of `[kafka]` are made by the kafka module.
result<node_config> load_config(const std::string& path);

/// As load_config, from text; `origin` names the source in error messages.
result<node_config> parse_config(std::string_view text, const std::string& origin);

const char* to_string(log_level level) noexcept;

} // namespace phoenix::runtime
