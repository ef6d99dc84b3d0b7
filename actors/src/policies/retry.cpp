#include "phoenix/actors/policies/retry.hpp"

#include <array>
#include <charconv>

namespace phoenix::policies {
namespace {

constexpr std::string_view retry_infix = ".retry.";

constexpr std::array<std::string_view, 9> failure_headers = {header::error_class,
                                                             header::error_message,
                                                             header::attempts,
                                                             header::original_topic,
                                                             header::original_partition,
                                                             header::original_offset,
                                                             header::first_failure,
                                                             header::node_id,
                                                             header::due};

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

} // namespace

std::string retry_topic(std::string_view topic, int level) {
  std::string out{topic};
  out += retry_infix;
  out += std::to_string(level);
  return out;
}

std::string dlq_topic(std::string_view topic) {
  std::string out{topic};
  out += ".dlq";
  return out;
}

std::optional<std::pair<std::string, int>> parse_retry_topic(std::string_view name) {
  auto at = name.rfind(retry_infix);
  if (at == std::string_view::npos || at == 0)
    return std::nullopt;
  int level = 0;
  if (!parse_number(name.substr(at + retry_infix.size()), level) || level < 1)
    return std::nullopt;
  return std::pair{std::string{name.substr(0, at)}, level};
}

bool is_failure_header(std::string_view name) {
  for (auto h : failure_headers)
    if (h == name)
      return true;
  return false;
}

failure_marks read_marks(const std::vector<runtime::header_view>& headers) {
  failure_marks m;
  for (const auto& h : headers) {
    if (h.key == header::error_class)
      m.error_class = std::string{h.value};
    else if (h.key == header::error_message)
      m.error_message = std::string{h.value};
    else if (h.key == header::attempts)
      parse_number(h.value, m.attempts);
    else if (h.key == header::original_topic)
      m.original_topic = std::string{h.value};
    else if (h.key == header::original_partition)
      parse_number(h.value, m.original_partition);
    else if (h.key == header::original_offset)
      parse_number(h.value, m.original_offset);
    else if (h.key == header::first_failure)
      parse_number(h.value, m.first_failure_ms);
    else if (h.key == header::node_id)
      m.node_id = std::string{h.value};
    else if (h.key == header::due)
      parse_number(h.value, m.due_ms);
  }
  return m;
}

std::vector<runtime::header> with_marks(const std::vector<runtime::header_view>& original,
                                        const failure_marks& marks) {
  std::vector<runtime::header> out;
  out.reserve(original.size() + failure_headers.size());
  for (const auto& h : original)
    if (!is_failure_header(h.key))
      out.push_back({std::string{h.key}, std::string{h.value}});
  auto add = [&](std::string_view k, std::string v) {
    out.push_back({std::string{k}, std::move(v)});
  };
  add(header::error_class, marks.error_class);
  add(header::error_message, marks.error_message);
  add(header::attempts, std::to_string(marks.attempts));
  add(header::original_topic, marks.original_topic);
  add(header::original_partition, std::to_string(marks.original_partition));
  add(header::original_offset, std::to_string(marks.original_offset));
  add(header::first_failure, std::to_string(marks.first_failure_ms));
  add(header::node_id, marks.node_id);
  if (marks.due_ms >= 0)
    add(header::due, std::to_string(marks.due_ms));
  return out;
}

next_step after_failure(const runtime::retry_policy& p, int level, int attempts,
                        std::chrono::milliseconds in_place_for,
                        std::chrono::milliseconds wait, bool permanent) {
  using kind = next_step::kind;
  if (!permanent) {
    if (attempts < p.attempts && in_place_for + wait <= p.max_in_place)
      return {kind::retry_in_place, wait, level};
    if (level >= 0 && static_cast<std::size_t>(level) < p.retry_topics.size())
      return {kind::retry_topic, p.retry_topics[static_cast<std::size_t>(level)],
              level + 1};
  }
  return {p.dlq ? kind::dead_letter : kind::give_up, std::chrono::milliseconds{0}, level};
}

std::chrono::milliseconds
in_place_limit(const std::map<std::string, std::string>& properties) {
  std::int64_t poll_interval = 300000; // librdkafka's default
  if (auto it = properties.find("max.poll.interval.ms"); it != properties.end())
    parse_number(std::string_view{it->second}, poll_interval); // librdkafka checks it
  return std::chrono::milliseconds{std::max<std::int64_t>((poll_interval + 1) / 2 - 1, 0)};
}

result<void> check_in_place_bounds(const runtime::retry_policies& policies,
                                   const std::map<std::string, std::string>& properties,
                                   const std::string& origin) {
  auto limit = in_place_limit(properties);
  auto check = [&](const runtime::retry_policy& p,
                   const std::string& table) -> result<void> {
    if (p.max_in_place > limit)
      return error{runtime::errc::config_bad_value,
                   origin + ": " + table +
                       " max_in_place_ms: " + std::to_string(p.max_in_place.count()) +
                       " must stay below half of max.poll.interval.ms (at most " +
                       std::to_string(limit.count()) + ")"};
    return {};
  };
  if (auto r = check(policies.fallback, "[policy.default]"); !r)
    return r;
  for (auto& [topic, p] : policies.by_topic)
    if (auto r = check(p, "[policy.\"" + topic + "\"]"); !r)
      return r;
  return {};
}

} // namespace phoenix::policies
