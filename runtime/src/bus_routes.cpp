#include "phoenix/runtime/config.hpp"

#include <algorithm>
#include <set>

namespace phoenix::runtime {
namespace {

bool listed(const std::vector<std::string>& list, std::string_view topic) {
  return std::find(list.begin(), list.end(), topic) != list.end();
}

error bad(const std::string& origin, std::string_view key, const std::string& what) {
  return error{errc::config_bad_value,
               origin + ": [bus] " + std::string{key} + ": " + what};
}

result<void> check_list(const std::string& origin, std::string_view key,
                        const std::vector<std::string>& list,
                        const std::vector<std::string>& other, std::string_view other_key) {
  std::set<std::string_view> seen;
  for (const auto& topic : list) {
    if (auto problem = topic_name_problem(topic))
      return bad(origin, key, *problem);
    if (!seen.insert(topic).second)
      return bad(origin, key, "\"" + topic + "\" is listed twice");
    if (listed(other, topic))
      return bad(origin, key,
                 "\"" + topic + "\" is also listed in " + std::string{other_key});
  }
  return {};
}

} // namespace

const char* to_string(topic_route route) noexcept {
  return route == topic_route::kafka ? "kafka" : "in_process";
}

std::optional<topic_route> bus_routes::route_of(std::string_view topic) const {
  if (listed(in_process, topic))
    return topic_route::in_process;
  if (listed(kafka, topic))
    return topic_route::kafka;
  return default_route;
}

std::optional<std::string> topic_name_problem(std::string_view name) {
  constexpr std::size_t max_length = 249; // Kafka's limit
  auto quoted = "\"" + std::string{name} + "\"";
  if (name.empty())
    return std::string{"a topic name must not be empty"};
  if (name.size() > max_length)
    return quoted + " is longer than " + std::to_string(max_length) + " characters";
  if (name == "." || name == "..")
    return quoted + " is no valid topic name";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return quoted + " is no valid topic name: only ASCII letters, digits, '.', '_' "
                      "and '-' are allowed";
  }
  return std::nullopt;
}

result<void> validate_bus_routes(const bus_routes& routes, const std::string& origin) {
  if (auto ok = check_list(origin, "in_process", routes.in_process, routes.kafka, "kafka");
      !ok)
    return ok;
  if (auto ok = check_list(origin, "kafka", routes.kafka, routes.in_process, "in_process");
      !ok)
    return ok;
  if (routes.max_pending < 1 || routes.max_pending > bus_routes::max_pending_limit)
    return bad(origin, "max_pending",
               "expected 1 to " + std::to_string(bus_routes::max_pending_limit) + ", got " +
                   std::to_string(routes.max_pending));
  return {};
}

} // namespace phoenix::runtime
