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

} // namespace phoenix::kafka
