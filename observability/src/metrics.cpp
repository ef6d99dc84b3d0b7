#include "phoenix/observability/metrics.hpp"

#include <caf/config.hpp>
#include <mutex>
#include <prometheus/collectable.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sstream>
#include <vector>

namespace phoenix::observability {

struct metrics_registry::impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  mutable std::mutex mtx;
  mutable std::vector<std::weak_ptr<prometheus::Collectable>> collectables;
};

metrics_registry::metrics_registry() : impl_(std::make_unique<impl>()) {}

metrics_registry::~metrics_registry() = default;

prometheus::Registry& metrics_registry::prometheus_registry() noexcept {
  return *impl_->registry;
}

void metrics_registry::add_collectable(std::weak_ptr<prometheus::Collectable> collectable) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->collectables.push_back(std::move(collectable));
}

std::string metrics_registry::render() const {
  auto families = impl_->registry->Collect();
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    auto& list = impl_->collectables;
    for (auto it = list.begin(); it != list.end();) {
      if (auto c = it->lock()) {
        auto more = c->Collect();
        families.insert(families.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
        ++it;
      } else {
        it = list.erase(it);
      }
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

void expose_build_info(metrics_registry& metrics,
                       std::map<std::string, std::string> labels) {
  labels["version"] = phoenix_version();
  labels.emplace("caf", std::to_string(CAF_VERSION / 10000) + "." +
                            std::to_string(CAF_VERSION / 100 % 100) + "." +
                            std::to_string(CAF_VERSION % 100));
  auto& family = prometheus::BuildGauge()
                     .Name("phoenix_build_info")
                     .Help("Phoenix build: version and the versions of its libraries")
                     .Register(metrics.prometheus_registry());
  family.Add(labels).Set(1);
}

const char* phoenix_version() noexcept {
  return PHOENIX_VERSION;
}

} // namespace phoenix::observability
