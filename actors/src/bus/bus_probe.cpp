#include "phoenix/actors/bus/bus_probe.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace phoenix::bus {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

namespace {

MetricFamily counter(const char* name, const char* help,
                     std::vector<std::pair<const char*, std::uint64_t>> series,
                     const char* label = nullptr) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Counter;
  for (auto& [value, count] : series) {
    ClientMetric m;
    if (label)
      m.label.push_back({label, value});
    m.counter.value = static_cast<double>(count);
    f.metric.push_back(m);
  }
  return f;
}

} // namespace

class bus_probe::collector : public prometheus::Collectable {
public:
  explicit collector(std::shared_ptr<const bus_stats> stats) : stats_(std::move(stats)) {}

  std::vector<MetricFamily> Collect() const override {
    auto& s = *stats_;
    return {
        counter("phoenix_bus_published_total", "Records the bus accepted, both routes",
                {{"", s.published.load()}}),
        counter("phoenix_bus_publish_errors_total", "Publishes answered with an error",
                {{"", s.publish_errors.load()}}),
        counter("phoenix_bus_in_process_records_total",
                "Records of in-process subscriptions, by outcome",
                {{"handled", s.handled.load()},
                 {"retried", s.retried.load()},
                 {"rejected", s.rejected.load()},
                 {"dead_lettered", s.dead_lettered.load()},
                 {"dropped", s.dropped.load()},
                 {"unheard", s.unheard.load()}},
                "outcome"),
        counter("phoenix_bus_handler_crashes_total",
                "In-process subscription handlers that threw or failed",
                {{"", s.crashes.load()}}),
    };
  }

private:
  std::shared_ptr<const bus_stats> stats_;
};

bus_probe::bus_probe(observability::metrics_registry& metrics,
                     std::shared_ptr<const bus_stats> stats)
    : collector_(std::make_shared<collector>(std::move(stats))) {
  metrics.add_collectable(collector_);
}

bus_probe::~bus_probe() = default;

} // namespace phoenix::bus
