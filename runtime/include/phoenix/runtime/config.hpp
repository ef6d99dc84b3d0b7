#pragma once

#include "phoenix/runtime/error.hpp"
#include "phoenix/runtime/guard_config.hpp"
#include "phoenix/runtime/restart_backoff.hpp"
#include "phoenix/runtime/retry_policy.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

/// `[supervisor]`: restart intensity of the node's supervisors, and the restart backoff
/// of those of its Kafka clients (the `kafka` supervisor and each bus subscription's):
/// keys `backoff` (false: none), `backoff_min_ms`, `backoff_max_ms`, `backoff_jitter`,
/// `backoff_reset_ms`.
struct supervision_config {
  int intensity = 10;
  std::chrono::milliseconds period{60000};
  std::optional<restart_backoff> kafka_backoff = restart_backoff{};
};

/// `[embedded]`: the in-process mock cluster used when `[kafka]` has no
/// `bootstrap.servers`.
struct embedded_config {
  int brokers = 3;
  int partitions = 3; ///< Partitions of the topics the node creates on it.
};

/// How the topic bus (actors/bus) carries a topic.
enum class topic_route {
  kafka,      ///< Produced to and consumed from the Kafka topic of that name.
  in_process, ///< Handed to the subscriptions of this process only; never touches Kafka.
};

const char* to_string(topic_route route) noexcept;

/// `[bus]`: which topics the topic bus keeps inside the process and which it sends
/// through Kafka. The same struct serves the file and code that configures a bus itself;
/// `validate_bus_routes` checks both.
struct bus_routes {
  /// Route of a topic listed in neither list. nullopt (`default = "none"`) refuses such
  /// topics, so that a misspelt topic name is an error instead of a new topic.
  std::optional<topic_route> default_route = topic_route::kafka;
  std::vector<std::string> in_process; ///< Topics delivered in-process.
  std::vector<std::string> kafka;      ///< Topics carried by Kafka.
  /// Records queued and not yet handled per in-process subscription; a publish that
  /// would go beyond it is refused (nothing queued) rather than growing memory.
  std::size_t max_pending = 10000;
  static constexpr std::size_t max_pending_limit = 10'000'000;

  /// The route of `topic`: its list, else the default; nullopt when neither applies.
  std::optional<topic_route> route_of(std::string_view topic) const;
};

/// Why `name` is no valid Kafka topic name (1 to 249 of ASCII letters, digits, `.`, `_`,
/// `-`; not `.` or `..`), or nullopt when it is one.
std::optional<std::string> topic_name_problem(std::string_view name);

/// Checks a bus routing: every listed name is a valid topic name, listed once, and in
/// one list only; `max_pending` is 1 to `max_pending_limit`.
///
/// Errors: errc::config_bad_value, naming the origin and the key, e.g.
/// `node.toml: [bus] in_process: "orders" is also listed in kafka`.
result<void> validate_bus_routes(const bus_routes& routes, const std::string& origin);

/// `[http]`: the node's one HTTP listener (`/health`, `/ready`, `/metrics`).
struct http_config {
  bool enabled = true; ///< `listen = ""` turns the listener off.
  std::string host = "127.0.0.1";
  int port = 9464; ///< 0: any free port (logged once bound).
  /// Basic auth on every endpoint when `user` is set, with the password read from
  /// `password_file` (first line) or given as `password_sha256` (hex), exactly one.
  std::string user;
  std::string password_file;
  std::string password_sha256;
  /// TLS when both are set: PEM certificate (chain) and private key.
  std::string tls_cert;
  std::string tls_key;
};

/// `[health]`: what the health monitor calls a restart storm, which turns `/ready` false.
struct health_config {
  int storm_restarts = 5; ///< Restarts (any supervisor, any child) within the window.
  std::chrono::milliseconds storm_window{60000};
};

/// One value of a section that a module above runtime interprets (`[store]`): what the
/// TOML file held and the line it came from, so the owning module's errors can name the
/// file, the key and the line as runtime's own do.
struct config_value {
  std::variant<std::string, std::int64_t, double, bool> value;
  int line = 0;
};

/// A section that the module owning it reads (runtime parses the file, the module knows
/// the keys): see `persistence::store_config_from` for `[store]`.
using config_table = std::map<std::string, config_value>;

/// `[app]` and its `[app.<name>]` tables: which application a node runs and the options
/// of each (scalars with their lines, as `[store]`). runtime checks only their TOML types.
struct app_section {
  config_table settings;                       ///< `[app]`'s own keys (`name`, ...).
  std::map<std::string, config_table> options; ///< `[app.<name>]`, by name.
  bool present = false;                        ///< The file has an `[app]` section.
};

/// The whole node configuration, loaded in one place. Sections of runtime are checked
/// here; a module section (`store`) is checked by its module when the node starts.
struct node_config {
  std::string origin = "<defaults>"; ///< File it was read from, for error messages.
  node_section node;
  log_config log;
  supervision_config supervisor;
  embedded_config embedded;
  bus_routes bus;
  http_config http;
  health_config health;
  /// `[kafka]`: librdkafka properties, passed through unchanged (values as strings).
  std::map<std::string, std::string> kafka;
  /// `[store]`: checked by `persistence::store_config_from` (keys, types and values).
  config_table store;
  /// `[breaker."<downstream>"]`: circuit breakers by downstream name.
  std::map<std::string, breaker_settings> breakers;
  /// `[tenants]`: per-tenant rate limits (`enabled` when the section is present).
  tenants_config tenants;
  /// `[policy]`: retries, retry topics and dead-letter queue per topic.
  retry_policies policy;
  /// `[app]`: the application `phoenix run` runs (`name`) and its options, checked by
  /// the `phoenix` command, which knows the applications.
  app_section app;

  /// True when no broker is configured and the embedded mock cluster is used.
  bool embedded_kafka() const { return kafka.count("bootstrap.servers") == 0; }
};

/// Reads and validates a TOML config file.
///
/// Errors: errc::config_unreadable (missing file, TOML syntax, with line and column),
/// errc::config_unknown_key, errc::config_wrong_type, errc::config_bad_value — each
/// message starts with the file and names the key, e.g.
/// `node.toml: [log] level: expected one of trace, debug, info, warn, error, critical,
/// off; got "loud"`. librdkafka's own checks of `[kafka]` are made by the kafka module,
/// `[store]`'s keys by the persistence module; here only their TOML types (no nested
/// tables or arrays) are checked.
result<node_config> load_config(const std::string& path);

/// As load_config, from text; `origin` names the source in error messages.
result<node_config> parse_config(std::string_view text, const std::string& origin);

const char* to_string(log_level level) noexcept;

} // namespace phoenix::runtime
