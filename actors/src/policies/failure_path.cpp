#include "policies/failure_path.hpp"

#include "phoenix/actors/kafka/topic_admin.hpp"
#include "phoenix/runtime/error.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace phoenix::policies {

lane_policies add_retry_topics(const kafka::group_consumer_config& cfg,
                               std::map<std::string, kafka::handler>& handlers) {
  lane_policies out;
  std::map<std::string, kafka::handler> added;
  auto limit = in_place_limit(cfg.properties);
  for (auto& [topic, h] : handlers) {
    auto base = std::make_shared<lane_policy>();
    base->policy = cfg.policies.of(topic);
    // A node's config is refused above the limit (check_in_place_bounds); a consumer
    // configured in code with a short max.poll.interval.ms keeps below it.
    base->policy.max_in_place = std::min(base->policy.max_in_place, limit);
    base->topic = topic;
    base->producer = cfg.producer;
    base->node_id = cfg.node_id;
    if (auto g = cfg.properties.find("group.id"); g != cfg.properties.end())
      base->group = g->second;
    base->produce_timeout = cfg.produce_timeout;
    base->max_crashes = cfg.max_crashes_per_record;
    if (cfg.producer) {
      for (std::size_t n = 1; n <= base->policy.retry_topics.size(); ++n) {
        auto level = std::make_shared<lane_policy>(*base);
        level->level = static_cast<int>(n);
        auto name = retry_topic(topic, level->level);
        added.emplace(name, h);
        out.emplace(name, std::move(level));
      }
    }
    out.emplace(topic, std::move(base));
  }
  for (auto& [topic, h] : added)
    handlers.emplace(topic, h);
  return out;
}

void ensure_policy_topics(const kafka::group_consumer_config& cfg,
                          const lane_policies& lanes, kafka::missing_topics& missing,
                          std::set<std::string>& done) {
  const auto& how = cfg.policies.topics;
  if (!how.create)
    return;
  std::vector<kafka::topic_request> wanted;
  auto want = [&](std::string name, const std::string& like) {
    if (!done.count(name))
      wanted.push_back({std::move(name), how.partitions, like, how.replication_factor});
  };
  for (auto& [topic, lane] : lanes) {
    if (!lane->producer)
      continue;
    if (lane->level > 0)
      want(topic, lane->topic);
    else if (lane->policy.dlq)
      want(dlq_topic(topic), topic);
  }
  if (wanted.empty())
    return;
  auto outcomes =
      kafka::ensure_topics(cfg.properties, cfg.origin, wanted, cfg.topic_setup_timeout);
  if (!outcomes) {
    for (auto& t : wanted)
      missing.add(t.name, outcomes.error().message());
    spdlog::error("policy topics: cannot create the retry and DLQ topics: {}; records "
                  "that need them stay uncommitted until they exist",
                  outcomes.error().message());
    return;
  }
  for (auto& o : *outcomes) {
    if (o.ok) {
      missing.remove(o.name);
      done.insert(o.name);
      if (o.created)
        spdlog::info("policy topics: created {}", o.name);
      continue;
    }
    missing.add(o.name, o.reason);
    if (o.not_authorized)
      spdlog::error(
          "policy topics: not allowed to create {} ({}): grant this client CREATE "
          "on it, or create it; records that need it stay uncommitted until it "
          "exists",
          o.name, o.reason);
    else
      spdlog::error("policy topics: cannot create {}: {}; records that need it stay "
                    "uncommitted until it exists",
                    o.name, o.reason);
  }
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void record_failure::start(std::int64_t at, const lane_policy& p, std::int32_t partition,
                           failure_marks earlier) {
  offset = at;
  attempts = 0;
  answer.reset();
  since = std::chrono::steady_clock::now();
  marks = std::move(earlier);
  if (p.level == 0) { // from the topic itself: this is the original position
    marks.attempts = 0;
    marks.original_topic = p.topic;
    marks.original_partition = partition;
    marks.original_offset = at;
    marks.first_failure_ms = -1;
  }
  prior = marks.attempts;
  marks.node_id = p.node_id;
  marks.due_ms = -1;
}

void record_failure::failed(std::string error_class, std::string message) {
  ++attempts;
  marks.attempts = prior + attempts;
  if (marks.first_failure_ms < 0)
    marks.first_failure_ms = wall_ms();
  marks.error_class = std::move(error_class);
  marks.error_message = std::move(message);
}

kafka::outgoing_record moved_record(const lane_policy& p, const next_step& step,
                                    const record_failure& f, std::string_view key,
                                    std::string_view value,
                                    const std::vector<runtime::header_view>& headers) {
  auto marks = f.marks;
  kafka::outgoing_record out;
  if (step.what == next_step::kind::retry_topic) {
    out.topic = retry_topic(p.topic, step.level);
    marks.due_ms = wall_ms() + step.delay.count();
  } else {
    out.topic = dlq_topic(p.topic);
    marks.due_ms = -1;
  }
  out.key = std::string{key};
  out.value = std::string{value};
  out.null_key = key.data() == nullptr; // the caller's view of a null key has no data
  out.null_value = value.data() == nullptr;
  out.headers = with_marks(headers, marks);
  return out;
}

} // namespace phoenix::policies
