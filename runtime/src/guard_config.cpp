#include "guard_config_read.hpp"

#include <cctype>
#include <cmath>
#include <initializer_list>
#include <sstream>

namespace phoenix::runtime {
namespace {

std::string line_of(const toml::node& n) {
  return " (line " + std::to_string(n.source().begin.line) + ")";
}

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// One table of the guard sections, named as it appears in the file: `breaker."crm"`.
class table_reader {
public:
  table_reader(const std::string& origin, std::string name, const toml::table& t)
      : origin_(origin), name_(std::move(name)), t_(t) {}

  std::string where(std::string_view key) const {
    return origin_ + ": [" + name_ + "] " + std::string{key};
  }
  error bad(std::string_view key, const std::string& what) const {
    return error{errc::config_bad_value, where(key) + ": " + what};
  }

  result<void> check_known(std::initializer_list<std::string_view> keys) const {
    for (auto& [key, value] : t_) {
      bool known = false;
      for (auto k : keys)
        known = known || key.str() == k;
      if (!known)
        return error{errc::config_unknown_key,
                     where(key.str()) + ": unknown key" + line_of(value)};
    }
    return {};
  }

  result<void> read_int(std::string_view key, std::int64_t& out) const {
    auto* n = t_.get(key);
    if (!n)
      return {};
    auto v = n->value_exact<std::int64_t>();
    if (!v)
      return error{errc::config_wrong_type,
                   where(key) + ": expected an integer" + line_of(*n)};
    out = *v;
    return {};
  }

  // Integers are numbers too: `rate = 10`.
  result<void> read_number(std::string_view key, double& out) const {
    auto* n = t_.get(key);
    if (!n)
      return {};
    if (auto i = n->value_exact<std::int64_t>())
      out = static_cast<double>(*i);
    else if (auto d = n->value_exact<double>())
      out = *d;
    else
      return error{errc::config_wrong_type,
                   where(key) + ": expected a number" + line_of(*n)};
    return {};
  }

  template <class T>
  result<void> read(std::string_view key, T& out, const char* type_name) const {
    auto* n = t_.get(key);
    if (!n)
      return {};
    auto v = n->value_exact<T>();
    if (!v)
      return error{errc::config_wrong_type,
                   where(key) + ": expected " + type_name + line_of(*n)};
    out = *v;
    return {};
  }

  const toml::table& table() const { return t_; }

private:
  const std::string& origin_;
  std::string name_;
  const toml::table& t_;
};

#define PHOENIX_TRY(expr)                                                                  \
  do {                                                                                     \
    if (auto r_ = (expr); !r_)                                                             \
      return r_.error();                                                                   \
  } while (false)

std::string breaker_section(const std::string& downstream) {
  return "breaker.\"" + downstream + "\"";
}

std::string limit_section(const std::string& tenant) {
  return "tenants.limits.\"" + tenant + "\"";
}

result<void> read_breaker(const table_reader& r, breaker_settings& out) {
  PHOENIX_TRY(r.check_known({"consecutive_failures", "failure_rate", "window", "min_calls",
                             "cool_down_ms", "required"}));
  std::int64_t consecutive = out.consecutive_failures, window = out.window,
               min_calls = out.min_calls, cool_down = out.cool_down.count();
  PHOENIX_TRY(r.read_int("consecutive_failures", consecutive));
  PHOENIX_TRY(r.read_number("failure_rate", out.failure_rate));
  PHOENIX_TRY(r.read_int("window", window));
  PHOENIX_TRY(r.read_int("min_calls", min_calls));
  PHOENIX_TRY(r.read_int("cool_down_ms", cool_down));
  PHOENIX_TRY(r.read("required", out.required, "a boolean"));
  // Checked here, before narrowing, so a huge value is reported as it was written.
  if (consecutive < 0 || consecutive > 1'000'000)
    return r.bad("consecutive_failures",
                 "expected 0 (off) to 1000000, got " + std::to_string(consecutive));
  if (window < 1 || window > 10'000)
    return r.bad("window", "expected 1 to 10000, got " + std::to_string(window));
  if (min_calls < 1 || min_calls > window)
    return r.bad("min_calls", "expected 1 to window (" + std::to_string(window) +
                                  "), got " + std::to_string(min_calls));
  if (cool_down < 1 || cool_down > 86'400'000)
    return r.bad("cool_down_ms",
                 "expected 1 to 86400000, got " + std::to_string(cool_down));
  out.consecutive_failures = static_cast<int>(consecutive);
  out.window = static_cast<int>(window);
  out.min_calls = static_cast<int>(min_calls);
  out.cool_down = std::chrono::milliseconds{cool_down};
  return {};
}

result<void> read_limit(const table_reader& r, rate_limit& out) {
  PHOENIX_TRY(r.check_known({"rate", "burst"}));
  PHOENIX_TRY(r.read_number("rate", out.rate));
  out.burst = std::max(1.0, out.rate); // unless given: one second's worth
  PHOENIX_TRY(r.read_number("burst", out.burst));
  return {};
}

result<void> read_tenants(const std::string& origin, const toml::table& t,
                          tenants_config& out) {
  table_reader r{origin, "tenants", t};
  PHOENIX_TRY(r.check_known({"backend", "redis", "default_rate", "default_burst", "nodes",
                             "fallback_share", "limits"}));
  out.enabled = true;
  std::string backend = "local";
  PHOENIX_TRY(r.read("backend", backend, "a string"));
  if (backend == "local")
    out.backend = limit_backend::local;
  else if (backend == "redis")
    out.backend = limit_backend::redis;
  else
    return r.bad("backend", "expected \"local\" or \"redis\", got \"" + backend + "\"");
  std::string redis = out.redis_host + ":" + std::to_string(out.redis_port);
  PHOENIX_TRY(r.read("redis", redis, "a string (host:port)"));
  auto colon = redis.rfind(':');
  auto port = colon == std::string::npos ? std::string{} : redis.substr(colon + 1);
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port)
    digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (colon == 0 || !digits || std::stoi(port) < 1 || std::stoi(port) > 65535)
    return r.bad("redis",
                 "expected host:port with a port from 1 to 65535, got \"" + redis + "\"");
  out.redis_host = redis.substr(0, colon);
  out.redis_port = std::stoi(port);
  PHOENIX_TRY(r.read_number("default_rate", out.default_limit.rate));
  if (t.get("default_rate"))
    out.default_limit.burst = std::max(1.0, out.default_limit.rate);
  PHOENIX_TRY(r.read_number("default_burst", out.default_limit.burst));
  std::int64_t nodes = 0;
  PHOENIX_TRY(r.read_int("nodes", nodes));
  if (t.get("nodes") && t.get("fallback_share"))
    return r.bad("fallback_share", "give nodes or fallback_share, not both");
  if (t.get("nodes")) {
    if (nodes < 1 || nodes > 10'000)
      return r.bad("nodes", "expected 1 to 10000, got " + std::to_string(nodes));
    out.fallback_share = 1.0 / static_cast<double>(nodes);
  }
  PHOENIX_TRY(r.read_number("fallback_share", out.fallback_share));
  if (auto* limits = t.get("limits")) {
    auto* table = limits->as_table();
    if (!table)
      return error{errc::config_wrong_type,
                   r.where("limits") + ": expected a table of tenants" + line_of(*limits)};
    for (auto& [tenant, value] : *table) {
      std::string name{tenant.str()};
      auto* lt = value.as_table();
      if (!lt)
        return error{errc::config_wrong_type,
                     origin + ": [" + limit_section(name) +
                         "]: expected a table with rate and burst" + line_of(value)};
      rate_limit lim{0, 1};
      PHOENIX_TRY(read_limit(table_reader{origin, limit_section(name), *lt}, lim));
      if (!lt->get("rate"))
        return error{errc::config_bad_value,
                     origin + ": [" + limit_section(name) + "] rate: missing"};
      out.limits[name] = lim;
    }
  }
  return validate_tenants(out, origin);
}

bool positive_finite(double v) {
  return std::isfinite(v) && v > 0;
}

} // namespace

result<void> validate_breaker(const std::string& downstream, const breaker_settings& s,
                              const std::string& origin) {
  auto where = [&](const char* key) {
    return origin + ": [" + breaker_section(downstream) + "] " + key + ": ";
  };
  auto bad = [&](const char* key, const std::string& what) {
    return error{errc::config_bad_value, where(key) + what};
  };
  if (downstream.empty())
    return error{errc::config_bad_value,
                 origin + ": [breaker.\"\"]: empty downstream name"};
  if (s.consecutive_failures < 0 || s.consecutive_failures > 1'000'000)
    return bad("consecutive_failures", "expected 0 (off) to 1000000, got " +
                                           std::to_string(s.consecutive_failures));
  if (!(s.failure_rate >= 0 && s.failure_rate <= 1))
    return bad("failure_rate",
               "expected 0 (off), or over 0 and at most 1, got " + number(s.failure_rate));
  if (s.window < 1 || s.window > 10'000)
    return bad("window", "expected 1 to 10000, got " + std::to_string(s.window));
  if (s.min_calls < 1 || s.min_calls > s.window)
    return bad("min_calls", "expected 1 to window (" + std::to_string(s.window) +
                                "), got " + std::to_string(s.min_calls));
  if (s.cool_down.count() < 1)
    return bad("cool_down_ms",
               "expected 1 to 86400000, got " + std::to_string(s.cool_down.count()));
  if (s.consecutive_failures == 0 && s.failure_rate == 0)
    return bad("consecutive_failures",
               "the breaker could never open: set consecutive_failures or failure_rate");
  return {};
}

result<void> validate_tenants(const tenants_config& t, const std::string& origin) {
  auto check = [&](const std::string& section, const rate_limit& l, const char* rate_key,
                   const char* burst_key) -> result<void> {
    auto where = origin + ": [" + section + "] ";
    if (!positive_finite(l.rate) || l.rate > 1e9)
      return error{errc::config_bad_value, where + rate_key +
                                               ": expected a number over 0 and at most "
                                               "1e9, got " +
                                               number(l.rate)};
    if (!std::isfinite(l.burst) || l.burst < 1 || l.burst > 1e9)
      return error{errc::config_bad_value, where + burst_key +
                                               ": expected a number from 1 to 1e9, got " +
                                               number(l.burst)};
    return {};
  };
  PHOENIX_TRY(check("tenants", t.default_limit, "default_rate", "default_burst"));
  for (auto& [tenant, lim] : t.limits) {
    if (tenant.empty())
      return error{errc::config_bad_value,
                   origin + ": [tenants.limits] \"\": empty tenant name"};
    PHOENIX_TRY(check(limit_section(tenant), lim, "rate", "burst"));
  }
  if (!positive_finite(t.fallback_share) || t.fallback_share > 1)
    return error{errc::config_bad_value,
                 origin +
                     ": [tenants] fallback_share: expected over 0 and at most 1, got " +
                     number(t.fallback_share)};
  if (t.backend == limit_backend::redis && t.redis_host.empty())
    return error{errc::config_bad_value, origin + ": [tenants] redis: empty host"};
  return {};
}

result<void> read_guard_sections(const toml::table& root, const std::string& origin,
                                 std::map<std::string, breaker_settings>& breakers,
                                 tenants_config& tenants) {
  if (auto* b = root.get("breaker")) {
    for (auto& [name, value] : *b->as_table()) {
      std::string downstream{name.str()};
      auto* t = value.as_table();
      if (!t)
        return error{errc::config_wrong_type, origin + ": [" + breaker_section(downstream) +
                                                  "]: expected a table" + line_of(value)};
      breaker_settings s;
      PHOENIX_TRY(read_breaker(table_reader{origin, breaker_section(downstream), *t}, s));
      PHOENIX_TRY(validate_breaker(downstream, s, origin));
      breakers[downstream] = s;
    }
  }
  if (auto* t = root.get("tenants"))
    PHOENIX_TRY(read_tenants(origin, *t->as_table(), tenants));
  return {};
}

} // namespace phoenix::runtime
