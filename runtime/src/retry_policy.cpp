#include "phoenix/runtime/retry_policy.hpp"

#include "phoenix/runtime/config.hpp"
#include "retry_policy_section.hpp"

namespace phoenix::runtime {
namespace {

using std::chrono::milliseconds;

std::string line_of(const toml::node& n) {
  return " (line " + std::to_string(n.source().begin.line) + ")";
}

// One `[policy.<name>]` table: every key checked for name and type.
class policy_reader {
public:
  policy_reader(const std::string& where, const toml::table& t) : where_(where), t_(t) {}

  result<void> read(retry_policy& p) const {
    for (auto& [key, value] : t_) {
      auto k = key.str();
      result<void> r;
      if (k == "attempts")
        r = integer(k, value, [&](std::int64_t v) { p.attempts = static_cast<int>(v); });
      else if (k == "backoff_base_ms")
        r = integer(k, value, [&](std::int64_t v) { p.backoff_base = milliseconds{v}; });
      else if (k == "backoff_cap_ms")
        r = integer(k, value, [&](std::int64_t v) { p.backoff_cap = milliseconds{v}; });
      else if (k == "max_in_place_ms")
        r = integer(k, value, [&](std::int64_t v) { p.max_in_place = milliseconds{v}; });
      else if (k == "retry_topics_ms")
        r = delays(k, value, p.retry_topics);
      else if (k == "dlq") {
        if (auto b = value.value_exact<bool>())
          p.dlq = *b;
        else
          r = wrong(k, "a boolean", value);
      } else
        r = error{errc::config_unknown_key,
                  where_ + " " + std::string{k} + ": unknown key" + line_of(value)};
      if (!r)
        return r;
    }
    return {};
  }

private:
  template <class F>
  result<void> integer(std::string_view k, const toml::node& n, F set) const {
    auto v = n.value_exact<std::int64_t>();
    if (!v)
      return wrong(k, "an integer", n);
    // Out of range for the field (or negative): the policy check names it precisely.
    set(std::max<std::int64_t>(std::min<std::int64_t>(*v, 1LL << 40), -1));
    return {};
  }

  result<void> delays(std::string_view k, const toml::node& n,
                      std::vector<milliseconds>& out) const {
    auto* array = n.as_array();
    if (!array)
      return wrong(k, "an array of delays in milliseconds", n);
    out.clear();
    for (auto& item : *array) {
      auto v = item.value_exact<std::int64_t>();
      if (!v)
        return wrong(k, "an array of delays in milliseconds", item);
      out.emplace_back(std::max<std::int64_t>(std::min<std::int64_t>(*v, 1LL << 40), -1));
    }
    return {};
  }

  error wrong(std::string_view k, const char* type, const toml::node& n) const {
    return error{errc::config_wrong_type,
                 where_ + " " + std::string{k} + ": expected " + type + line_of(n)};
  }

  const std::string& where_;
  const toml::table& t_;
};

// One of `[policy]`'s own keys (a value that is not a table). Any other name is taken
// for a topic whose table was written as a value by mistake.
result<void> read_topic_setting(const std::string& origin, std::string_view key,
                                const toml::node& value, policy_topics& out) {
  auto where = origin + ": [policy] " + std::string{key};
  auto wrong = [&](const char* type) {
    return error{errc::config_wrong_type, where + ": expected " + type + line_of(value)};
  };
  // `minus_one`: -1 is taken besides lo..hi.
  auto ranged = [&](std::int64_t lo, std::int64_t hi, bool minus_one, int& field,
                    const char* what) -> result<void> {
    auto v = value.value_exact<std::int64_t>();
    if (!v)
      return wrong("an integer");
    if (!(minus_one && *v == -1) && (*v < lo || *v > hi))
      return error{errc::config_bad_value, where + ": expected " + what + ", got " +
                                               std::to_string(*v) + line_of(value)};
    field = static_cast<int>(*v);
    return {};
  };
  if (key == "create_topics") {
    auto b = value.value_exact<bool>();
    if (!b)
      return wrong("a boolean");
    out.create = *b;
    return {};
  }
  if (key == "topic_partitions")
    return ranged(0, 100000, false, out.partitions,
                  "0 (as the source topic) to 100000 partitions");
  if (key == "topic_replication_factor")
    return ranged(1, 32767, true, out.replication_factor,
                  "-1 (the brokers' default) or 1 to 32767");
  return error{errc::config_wrong_type,
               where + ": expected a table [policy.default] or [policy.\"<topic>\"], or " +
                   "one of create_topics, topic_partitions, topic_replication_factor" +
                   line_of(value)};
}

std::string table_name(const std::string& origin, std::string_view name) {
  if (name == "default")
    return origin + ": [policy.default]";
  return origin + ": [policy.\"" + std::string{name} + "\"]";
}

} // namespace

const retry_policy& retry_policies::of(std::string_view topic) const {
  auto it = by_topic.find(std::string{topic});
  return it == by_topic.end() ? fallback : it->second;
}

result<void> validate_retry_policy(const retry_policy& p, const std::string& where) {
  auto bad = [&](const char* key, const std::string& what) {
    return error{errc::config_bad_value, where + " " + key + ": " + what};
  };
  auto ms = [](milliseconds d) { return std::to_string(d.count()); };
  if (p.attempts < 1 || p.attempts > retry_policy::max_attempts)
    return bad("attempts", "expected 1 to " + std::to_string(retry_policy::max_attempts) +
                               ", got " + std::to_string(p.attempts));
  if (p.backoff_base.count() < 1 || p.backoff_base > retry_policy::max_delay)
    return bad("backoff_base_ms", "expected 1 to " + ms(retry_policy::max_delay) +
                                      " milliseconds, got " + ms(p.backoff_base));
  if (p.backoff_cap < p.backoff_base || p.backoff_cap > retry_policy::max_delay)
    return bad("backoff_cap_ms", "expected backoff_base_ms (" + ms(p.backoff_base) +
                                     ") to " + ms(retry_policy::max_delay) +
                                     " milliseconds, got " + ms(p.backoff_cap));
  if (p.max_in_place < p.backoff_cap || p.max_in_place > retry_policy::max_delay)
    return bad("max_in_place_ms", "expected backoff_cap_ms (" + ms(p.backoff_cap) +
                                      ") to " + ms(retry_policy::max_delay) +
                                      " milliseconds, got " + ms(p.max_in_place));
  if (p.retry_topics.size() > retry_policy::max_retry_topics)
    return bad("retry_topics_ms",
               "expected at most " + std::to_string(retry_policy::max_retry_topics) +
                   " retry topics, got " + std::to_string(p.retry_topics.size()));
  for (auto d : p.retry_topics)
    if (d.count() < 1 || d > retry_policy::max_delay)
      return bad("retry_topics_ms", "expected delays of 1 to " +
                                        ms(retry_policy::max_delay) +
                                        " milliseconds, got " + ms(d));
  return {};
}

result<void> read_retry_policies(const std::string& origin, const toml::table* policy,
                                 retry_policies& out) {
  if (!policy)
    return {};
  for (auto& [key, value] : *policy) {
    if (value.is_table())
      continue;
    if (auto r = read_topic_setting(origin, key.str(), value, out.topics); !r)
      return r;
  }
  // The default first: topics' tables start from it.
  if (auto* d = policy->get_as<toml::table>("default")) {
    auto where = table_name(origin, "default");
    if (auto r = policy_reader{where, *d}.read(out.fallback); !r)
      return r;
    if (auto r = validate_retry_policy(out.fallback, where); !r)
      return r;
  }
  for (auto& [key, value] : *policy) {
    auto name = key.str();
    if (name == "default" || !value.is_table()) // not a table: read above
      continue;
    auto where = table_name(origin, name);
    if (auto problem = topic_name_problem(name))
      return error{errc::config_bad_value, where + ": " + *problem + line_of(value)};
    // The longest suffix Phoenix appends is ".retry.10" (9 characters).
    if (name.size() > 240)
      return error{errc::config_bad_value,
                   where + ": longer than 240 characters, no room for its retry topics" +
                       line_of(value)};
    auto p = out.fallback;
    if (auto r = policy_reader{where, *value.as_table()}.read(p); !r)
      return r;
    if (auto r = validate_retry_policy(p, where); !r)
      return r;
    out.by_topic[std::string{name}] = std::move(p);
  }
  return {};
}

} // namespace phoenix::runtime
