#include "phoenix/observability/metrics.hpp"
#include "phoenix/persistence/store_actor.hpp"

#include <limits>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace phoenix::persistence {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Cumulative Prometheus buckets from per-bucket counts `count(i)` over `bounds`, the
// last count being above every bound.
template <class Bounds, class Count>
ClientMetric::Histogram cumulative(const Bounds& bounds, Count count, double sum) {
  ClientMetric::Histogram h;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    total += count(i);
    h.bucket.push_back(
        {total, i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity()});
  }
  h.sample_count = total;
  h.sample_sum = sum;
  return h;
}

class store_collector : public prometheus::Collectable {
public:
  explicit store_collector(store_link link) : link_(std::move(link)) {}

  std::vector<MetricFamily> Collect() const override {
    const auto& s = link_.batches();
    const auto family = [](const char* name, const char* help, MetricType type,
                           ClientMetric m) {
      MetricFamily f;
      f.name = name;
      f.help = help;
      f.type = type;
      f.metric.push_back(std::move(m));
      return f;
    };
    const auto counter = [](const std::atomic<std::uint64_t>& v) {
      ClientMetric m;
      m.counter.value = static_cast<double>(v.load(std::memory_order_relaxed));
      return m;
    };
    ClientMetric sizes;
    sizes.histogram = cumulative(
        store_batch_stats::size_bounds,
        [&](std::size_t i) { return s.sizes[i].load(std::memory_order_relaxed); },
        static_cast<double>(s.requests.load(std::memory_order_relaxed)));
    ClientMetric latency;
    latency.histogram = cumulative(
        observability::duration_histogram::bounds,
        [&](std::size_t i) { return s.latency.count(i); }, s.latency.sum_seconds());
    return {family("phoenix_store_batch_size",
                   "Requests per group-committed store transaction", MetricType::Histogram,
                   std::move(sizes)),
            family("phoenix_store_batch_seconds",
                   "Time of each group-committed store transaction", MetricType::Histogram,
                   std::move(latency)),
            family("phoenix_store_requests_total", "Write requests the store batched",
                   MetricType::Counter, counter(s.requests)),
            family("phoenix_store_failed_batches_total",
                   "Store transactions that failed as a whole (each request got the error)",
                   MetricType::Counter, counter(s.failed))};
  }

private:
  store_link link_;
};

} // namespace

std::shared_ptr<void> expose_store_metrics(observability::metrics_registry& metrics,
                                           store_link link) {
  auto collector = std::make_shared<store_collector>(std::move(link));
  metrics.add_collectable(collector);
  return collector;
}

} // namespace phoenix::persistence
