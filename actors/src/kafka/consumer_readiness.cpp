#include "phoenix/actors/kafka/group_consumer.hpp"

#include <atomic>

namespace phoenix::kafka {

void add_readiness_check(group_consumer_config& cfg, observability::readiness& ready,
                         const std::string& name) {
  auto flag = ready.add_flag(name, {false, "not joined the consumer group yet"});
  auto assigned = std::make_shared<std::atomic<std::size_t>>(0);
  auto report = [flag, assigned] {
    flag->set(true,
              "joined; " + std::to_string(assigned->load()) + " partition(s) assigned");
  };
  cfg.on_assigned = [prev = std::move(cfg.on_assigned), assigned,
                     report](const std::vector<topic_partition>& tps) {
    if (prev)
      prev(tps);
    *assigned += tps.size();
    report();
  };
  cfg.on_revoked = [prev = std::move(cfg.on_revoked), assigned, report,
                    flag](const std::vector<topic_partition>& tps, bool lost) {
    if (prev)
      prev(tps, lost);
    auto n = assigned->load();
    *assigned = n > tps.size() ? n - tps.size() : 0;
    if (lost)
      flag->set(false, "partitions lost (session timed out); waiting for a new assignment");
    else
      report();
  };
}

void add_topics_readiness_check(observability::readiness& ready, const std::string& name,
                                std::shared_ptr<const consumer_stats> stats) {
  ready.add(name, [stats] {
    auto missing = stats->policy_topics.snapshot();
    if (missing.empty())
      return observability::check_state{true, "retry and DLQ topics in place"};
    std::string detail = "missing retry/DLQ topics: ";
    for (auto& [topic, reason] : missing)
      detail += (detail.back() == ' ' ? "" : "; ") + topic + " (" + reason + ")";
    return observability::check_state{false, std::move(detail)};
  });
}

} // namespace phoenix::kafka
