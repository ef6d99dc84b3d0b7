#include "phoenix/runtime/config.hpp"

#include "guard_config_read.hpp"
#include "retry_policy_section.hpp"

#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>
#include <unistd.h>

namespace phoenix::runtime {
namespace {

constexpr std::array<const char*, 7> level_names = {"trace", "debug",    "info", "warn",
                                                    "error", "critical", "off"};

std::string position(const toml::node& n) {
  auto& src = n.source();
  return " (line " + std::to_string(src.begin.line) + ")";
}

// Reads one section, checking every key it holds against what the section defines.
class section_reader {
public:
  section_reader(const std::string& origin, std::string name, const toml::table* table)
      : origin_(origin), name_(std::move(name)), table_(table) {}

  result<void> check_known(std::initializer_list<std::string_view> keys) const {
    if (!table_)
      return {};
    for (auto& [key, value] : *table_) {
      bool known = false;
      for (auto k : keys)
        known = known || key.str() == k;
      if (!known)
        return error{errc::config_unknown_key, origin_ + ": [" + name_ + "] " +
                                                   std::string{key.str()} +
                                                   ": unknown key" + position(value)};
    }
    return {};
  }

  template <class T>
  result<void> read(std::string_view key, T& out, const char* type_name) const {
    if (!table_)
      return {};
    auto* node = table_->get(key);
    if (!node)
      return {};
    auto v = node->value_exact<T>();
    if (!v)
      return error{errc::config_wrong_type,
                   where(key) + ": expected " + type_name + position(*node)};
    out = *v;
    return {};
  }

  result<void> read_positive(std::string_view key, int& out, int max) const {
    int64_t v = out;
    if (auto r = read(key, v, "an integer"); !r)
      return r;
    if (v < 1 || v > max)
      return bad(key,
                 "expected 1 to " + std::to_string(max) + ", got " + std::to_string(v));
    out = static_cast<int>(v);
    return {};
  }

  result<void> read_millis(std::string_view key, std::chrono::milliseconds& out) const {
    int64_t v = out.count();
    if (auto r = read(key, v, "an integer (milliseconds)"); !r)
      return r;
    if (v < 1)
      return bad(key,
                 "expected a positive number of milliseconds, got " + std::to_string(v));
    out = std::chrono::milliseconds{v};
    return {};
  }

  result<void> read_topics(std::string_view key, std::vector<std::string>& out) const {
    if (!table_)
      return {};
    auto* node = table_->get(key);
    if (!node)
      return {};
    auto* array = node->as_array();
    if (!array)
      return error{errc::config_wrong_type,
                   where(key) + ": expected an array of topic names" + position(*node)};
    out.clear();
    for (auto& item : *array) {
      auto v = item.value_exact<std::string>();
      if (!v)
        return error{errc::config_wrong_type,
                     where(key) + ": expected an array of topic names" + position(item)};
      out.push_back(*v);
    }
    return {};
  }

  error bad(std::string_view key, const std::string& what) const {
    return error{errc::config_bad_value, where(key) + ": " + what};
  }

  std::string where(std::string_view key) const {
    return origin_ + ": [" + name_ + "] " + std::string{key};
  }

private:
  const std::string& origin_;
  std::string name_;
  const toml::table* table_;
};

#define PHOENIX_TRY(expr)                                                                  \
  do {                                                                                     \
    if (auto r_ = (expr); !r_)                                                             \
      return r_.error();                                                                   \
  } while (false)

result<void> read_log(const section_reader& s, log_config& out) {
  PHOENIX_TRY(s.check_known({"level", "format"}));
  std::string level = to_string(out.level);
  PHOENIX_TRY(s.read("level", level, "a string"));
  bool found = false;
  for (std::size_t i = 0; i < level_names.size(); ++i) {
    if (level == level_names[i]) {
      out.level = static_cast<log_level>(i);
      found = true;
    }
  }
  if (!found)
    return s.bad("level", "expected one of trace, debug, info, warn, error, critical, off; "
                          "got \"" +
                              level + "\"");
  std::string format = out.format == log_format::json ? "json" : "text";
  PHOENIX_TRY(s.read("format", format, "a string"));
  if (format == "text")
    out.format = log_format::text;
  else if (format == "json")
    out.format = log_format::json;
  else
    return s.bad("format", "expected \"text\" or \"json\", got \"" + format + "\"");
  return {};
}

result<void> read_kafka(const std::string& origin, const toml::table* table,
                        std::map<std::string, std::string>& out) {
  if (!table)
    return {};
  for (auto& [key, value] : *table) {
    std::string k{key.str()};
    if (auto s = value.value_exact<std::string>())
      out[k] = *s;
    else if (auto i = value.value_exact<int64_t>())
      out[k] = std::to_string(*i);
    else if (auto b = value.value_exact<bool>())
      out[k] = *b ? "true" : "false";
    else
      return error{errc::config_wrong_type,
                   origin + ": [kafka] " + k +
                       ": expected a string, integer or boolean (librdkafka property)" +
                       position(value)};
  }
  return {};
}

result<void> read_bus(const section_reader& s, const std::string& origin, bus_routes& out) {
  PHOENIX_TRY(s.check_known({"default", "in_process", "kafka", "max_pending"}));
  std::string route = out.default_route ? to_string(*out.default_route) : "none";
  PHOENIX_TRY(s.read("default", route, "a string"));
  if (route == "kafka")
    out.default_route = topic_route::kafka;
  else if (route == "in_process")
    out.default_route = topic_route::in_process;
  else if (route == "none")
    out.default_route = std::nullopt;
  else
    return s.bad("default",
                 "expected \"kafka\", \"in_process\" or \"none\", got \"" + route + "\"");
  PHOENIX_TRY(s.read_topics("in_process", out.in_process));
  PHOENIX_TRY(s.read_topics("kafka", out.kafka));
  int64_t pending = static_cast<int64_t>(out.max_pending);
  PHOENIX_TRY(s.read("max_pending", pending, "an integer"));
  if (pending < 1 || pending > static_cast<int64_t>(bus_routes::max_pending_limit))
    return s.bad("max_pending", "expected 1 to " +
                                    std::to_string(bus_routes::max_pending_limit) +
                                    ", got " + std::to_string(pending));
  out.max_pending = static_cast<std::size_t>(pending);
  return validate_bus_routes(out, origin);
}

// A file named in the config, relative to the config file's folder.
std::string beside(const std::string& origin, const std::string& path) {
  std::filesystem::path p{path};
  if (path.empty() || p.is_absolute())
    return path;
  auto dir = std::filesystem::path{origin}.parent_path();
  return dir.empty() ? path : (dir / p).string();
}

result<void> read_http(const section_reader& s, const std::string& origin,
                       http_config& out) {
  PHOENIX_TRY(s.check_known(
      {"listen", "user", "password_file", "password_sha256", "tls_cert", "tls_key"}));
  std::string listen = out.host + ":" + std::to_string(out.port);
  PHOENIX_TRY(s.read("listen", listen, "a string (host:port)"));
  if (listen.empty()) {
    out.enabled = false;
  } else {
    auto colon = listen.rfind(':');
    auto port = colon == std::string::npos ? std::string{} : listen.substr(colon + 1);
    auto host = colon == std::string::npos ? std::string{} : listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2); // [::1]:9464
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port)
      digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (host.empty() || !digits || std::stoi(port) > 65535)
      return s.bad("listen", "expected host:port with a port from 0 to 65535 (0: any free "
                             "port), got \"" +
                                 listen + "\"");
    out.host = host;
    out.port = std::stoi(port);
  }
  PHOENIX_TRY(s.read("user", out.user, "a string"));
  PHOENIX_TRY(s.read("password_file", out.password_file, "a string (path)"));
  PHOENIX_TRY(s.read("password_sha256", out.password_sha256, "a string (hex)"));
  PHOENIX_TRY(s.read("tls_cert", out.tls_cert, "a string (path)"));
  PHOENIX_TRY(s.read("tls_key", out.tls_key, "a string (path)"));
  bool has_file = !out.password_file.empty();
  bool has_hash = !out.password_sha256.empty();
  if (!out.user.empty() && has_file == has_hash)
    return s.bad("user", "expected exactly one of password_file and password_sha256");
  if (out.user.empty() && (has_file || has_hash))
    return s.bad(has_file ? "password_file" : "password_sha256",
                 "needs a user for basic auth");
  if (has_hash) {
    bool hex = out.password_sha256.size() == 64;
    for (char c : out.password_sha256)
      hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    if (!hex)
      return s.bad("password_sha256", "expected 64 hex digits (SHA-256 of the password)");
  }
  if (out.tls_cert.empty() != out.tls_key.empty())
    return s.bad(out.tls_cert.empty() ? "tls_cert" : "tls_key",
                 "tls_cert and tls_key go together");
  out.password_file = beside(origin, out.password_file);
  out.tls_cert = beside(origin, out.tls_cert);
  out.tls_key = beside(origin, out.tls_key);
  return {};
}

// A module's section: scalar values kept with their line, for the module to check.
result<void> read_module_section(const std::string& origin, const std::string& name,
                                 const toml::table* table, config_table& out) {
  if (!table)
    return {};
  for (auto& [key, value] : *table) {
    std::string k{key.str()};
    config_value v;
    v.line = static_cast<int>(value.source().begin.line);
    if (auto s = value.value_exact<std::string>())
      v.value = *s;
    else if (auto i = value.value_exact<int64_t>())
      v.value = *i;
    else if (auto d = value.value_exact<double>())
      v.value = *d;
    else if (auto b = value.value_exact<bool>())
      v.value = *b;
    else
      return error{errc::config_wrong_type, origin + ": [" + name + "] " + k +
                                                ": expected a string, number or boolean" +
                                                position(value)};
    out.emplace(std::move(k), std::move(v));
  }
  return {};
}

// `[app]`: its scalars, and one `[app.<name>]` table of scalars per application.
result<void> read_app(const std::string& origin, const toml::table* table,
                      app_section& out) {
  if (!table)
    return {};
  out.present = true;
  toml::table own;
  for (auto& [key, value] : *table) {
    std::string k{key.str()};
    if (auto* sub = value.as_table()) {
      PHOENIX_TRY(read_module_section(origin, "app." + k, sub, out.options[k]));
      continue;
    }
    own.insert(key, value);
  }
  return read_module_section(origin, "app", &own, out.settings);
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0')
    return "phoenix-node";
  return buf.data();
}

} // namespace

const char* to_string(log_level level) noexcept {
  return level_names[static_cast<std::size_t>(level)];
}

result<node_config> parse_config(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    auto& b = e.source().begin;
    return error{errc::config_unreadable, origin + ":" + std::to_string(b.line) + ":" +
                                              std::to_string(b.column) + ": " +
                                              std::string{e.description()}};
  }
  node_config cfg;
  cfg.origin = origin;
  cfg.node.id = host_name();

  static constexpr std::array<std::string_view, 13> sections = {
      "node",  "log",   "supervisor", "embedded", "bus",    "http", "health",
      "kafka", "store", "breaker",    "tenants",  "policy", "app"};
  for (auto& [key, value] : root) {
    bool known = false;
    for (auto s : sections)
      known = known || key.str() == s;
    if (!known)
      return error{errc::config_unknown_key, origin + ": [" + std::string{key.str()} +
                                                 "]: unknown section" + position(value)};
    if (!value.is_table())
      return error{errc::config_wrong_type, origin + ": " + std::string{key.str()} +
                                                ": expected a [section]" + position(value)};
  }
  auto section = [&](const char* name) {
    return section_reader{origin, name, root[name].as_table()};
  };

  auto node = section("node");
  PHOENIX_TRY(node.check_known({"id", "shutdown_timeout_ms"}));
  PHOENIX_TRY(node.read("id", cfg.node.id, "a string"));
  if (cfg.node.id.empty())
    return node.bad("id", "must not be empty");
  PHOENIX_TRY(node.read_millis("shutdown_timeout_ms", cfg.node.shutdown_timeout));

  PHOENIX_TRY(read_log(section("log"), cfg.log));

  auto sup = section("supervisor");
  PHOENIX_TRY(sup.check_known({"intensity", "period_ms", "backoff", "backoff_min_ms",
                               "backoff_max_ms", "backoff_jitter", "backoff_reset_ms"}));
  int64_t intensity = cfg.supervisor.intensity;
  PHOENIX_TRY(sup.read("intensity", intensity, "an integer"));
  if (intensity < 0 || intensity > 1000)
    return sup.bad("intensity", "expected 0 to 1000, got " + std::to_string(intensity));
  cfg.supervisor.intensity = static_cast<int>(intensity);
  PHOENIX_TRY(sup.read_millis("period_ms", cfg.supervisor.period));
  auto backoff = restart_backoff{};
  bool with_backoff = true;
  PHOENIX_TRY(sup.read("backoff", with_backoff, "a boolean"));
  PHOENIX_TRY(sup.read_millis("backoff_min_ms", backoff.min));
  PHOENIX_TRY(sup.read_millis("backoff_max_ms", backoff.max));
  PHOENIX_TRY(sup.read("backoff_jitter", backoff.jitter, "a decimal number such as 0.2"));
  PHOENIX_TRY(sup.read_millis("backoff_reset_ms", backoff.reset_after));
  PHOENIX_TRY(validate_restart_backoff(backoff, origin + ": [supervisor]"));
  cfg.supervisor.kafka_backoff = with_backoff ? std::optional{backoff} : std::nullopt;

  auto emb = section("embedded");
  PHOENIX_TRY(emb.check_known({"brokers", "partitions"}));
  PHOENIX_TRY(emb.read_positive("brokers", cfg.embedded.brokers, 16));
  PHOENIX_TRY(emb.read_positive("partitions", cfg.embedded.partitions, 1024));

  PHOENIX_TRY(read_bus(section("bus"), origin, cfg.bus));

  PHOENIX_TRY(read_http(section("http"), origin, cfg.http));

  auto health = section("health");
  PHOENIX_TRY(health.check_known({"storm_restarts", "storm_window_ms"}));
  PHOENIX_TRY(health.read_positive("storm_restarts", cfg.health.storm_restarts, 100000));
  PHOENIX_TRY(health.read_millis("storm_window_ms", cfg.health.storm_window));

  PHOENIX_TRY(read_kafka(origin, root["kafka"].as_table(), cfg.kafka));
  PHOENIX_TRY(read_module_section(origin, "store", root["store"].as_table(), cfg.store));
  PHOENIX_TRY(read_guard_sections(root, origin, cfg.breakers, cfg.tenants));
  PHOENIX_TRY(read_retry_policies(origin, root["policy"].as_table(), cfg.policy));
  PHOENIX_TRY(read_app(origin, root["app"].as_table(), cfg.app));
  return cfg;
}

result<node_config> load_config(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return error{errc::config_unreadable, path + ": cannot open config file"};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

} // namespace phoenix::runtime
