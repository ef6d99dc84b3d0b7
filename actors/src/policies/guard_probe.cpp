#include "phoenix/actors/policies/guard_probe.hpp"

#include "probe_util.hpp"

#include <prometheus/collectable.h>

namespace phoenix::policies {

using namespace probe_util;

class guard_probe::collector : public prometheus::Collectable {
public:
  explicit collector(std::shared_ptr<const admission> a) : a_(std::move(a)) {}

  std::vector<MetricFamily> Collect() const override {
    auto counter = MetricType::Counter;
    auto gauge = MetricType::Gauge;
    std::vector<MetricFamily> out{
        family("phoenix_breaker_state",
               "Circuit breaker of a downstream: 0 closed, 1 open, 2 half-open", gauge),
        family("phoenix_breaker_transitions_total", "Circuit breaker transitions", counter),
        family("phoenix_breaker_refused_calls_total",
               "Calls a circuit breaker made wait (open, or its probe out)", counter),
        family("phoenix_records_throttled_total",
               "Records that waited for their tenant's rate limit", counter),
        family("phoenix_rate_limit_wait_seconds",
               "How long throttled records waited for a token", MetricType::Histogram),
        family("phoenix_rate_limit_fallback",
               "1 while Redis is unreachable and tenants are limited locally", gauge),
        family("phoenix_rate_limit_fallbacks_total",
               "Falls back from Redis to local limits", counter),
    };
    if (a_ && a_->breakers) {
      a_->breakers->for_each([&](const circuit_breaker& b) {
        auto m = labelled({{"downstream", b.downstream()}});
        m.gauge.value = static_cast<int>(b.state());
        out[0].metric.push_back(m);
        for (auto s :
             {breaker_state::closed, breaker_state::open, breaker_state::half_open}) {
          auto t = labelled({{"downstream", b.downstream()}, {"to", to_string(s)}});
          t.counter.value = static_cast<double>(b.transitions(s));
          out[1].metric.push_back(t);
        }
        auto r = labelled({{"downstream", b.downstream()}});
        r.counter.value = static_cast<double>(b.refused());
        out[2].metric.push_back(r);
      });
    }
    if (a_ && a_->tenants) {
      auto& t = *a_->tenants;
      t.for_each_tenant([&](const std::string& tenant, std::uint64_t n) {
        auto m = labelled({{"tenant", tenant}});
        m.counter.value = static_cast<double>(n);
        out[3].metric.push_back(m);
      });
      histogram_sum wait;
      wait.add(t.wait_histogram());
      ClientMetric h;
      h.histogram = wait.to_prometheus();
      out[4].metric.push_back(h);
      ClientMetric f;
      f.gauge.value = t.fallback() ? 1 : 0;
      out[5].metric.push_back(f);
      ClientMetric n;
      n.counter.value = static_cast<double>(t.fallbacks());
      out[6].metric.push_back(n);
    }
    return out;
  }

private:
  std::shared_ptr<const admission> a_;
};

guard_probe::guard_probe(observability::metrics_registry& metrics,
                         std::shared_ptr<const admission> a)
    : collector_(std::make_shared<collector>(std::move(a))) {
  metrics.add_collectable(collector_);
}

guard_probe::~guard_probe() = default;

} // namespace phoenix::policies
