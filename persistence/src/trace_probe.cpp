#include "phoenix/observability/metrics.hpp"
#include "phoenix/persistence/trace_log.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace phoenix::persistence {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class trace_collector : public prometheus::Collectable {
public:
  explicit trace_collector(std::shared_ptr<const trace_log> log) : log_(std::move(log)) {}

  std::vector<MetricFamily> Collect() const override {
    const auto one = [](const char* name, const char* help, MetricType type, double v) {
      MetricFamily f;
      f.name = name;
      f.help = help;
      f.type = type;
      ClientMetric m;
      if (type == MetricType::Counter)
        m.counter.value = v;
      else
        m.gauge.value = v;
      f.metric.push_back(std::move(m));
      return f;
    };
    const auto n = [](const std::atomic<std::uint64_t>& a) {
      return static_cast<double>(a.load(std::memory_order_relaxed));
    };
    return {one("phoenix_trace_rows_written_total", "Traceability rows the store committed",
                MetricType::Counter, n(log_->written)),
            one("phoenix_trace_rows_dropped_total",
                "Traceability rows dropped because the queue was full (store away)",
                MetricType::Counter, n(log_->dropped)),
            one("phoenix_trace_write_failures_total",
                "Traceability writes that failed and were retried", MetricType::Counter,
                n(log_->failed_writes)),
            one("phoenix_trace_rows_pending", "Traceability rows waiting to be written",
                MetricType::Gauge, static_cast<double>(log_->pending()))};
  }

private:
  std::shared_ptr<const trace_log> log_;
};

} // namespace

std::shared_ptr<void> expose_trace_metrics(observability::metrics_registry& metrics,
                                           std::shared_ptr<const trace_log> log) {
  auto collector = std::make_shared<trace_collector>(std::move(log));
  metrics.add_collectable(collector);
  return collector;
}

} // namespace phoenix::persistence
