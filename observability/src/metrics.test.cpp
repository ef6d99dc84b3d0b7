#include "phoenix/observability/metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

using namespace phoenix::observability;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(metrics, build_info_carries_the_version_and_library_labels) {
  metrics_registry m;
  expose_build_info(m, {{"librdkafka", "2.0.2"}});
  auto text = m.render();
  EXPECT_TRUE(contains(text, "# TYPE phoenix_build_info gauge")) << text;
  EXPECT_TRUE(contains(text, "version=\"" + std::string{phoenix_version()} + "\"")) << text;
  EXPECT_TRUE(contains(text, "librdkafka=\"2.0.2\"")) << text;
  EXPECT_TRUE(contains(text, "caf=\"0.17.6\"")) << text;
}

TEST(metrics, probe_counters_render_in_text_format) {
  metrics_registry m;
  auto& family = prometheus::BuildCounter()
                     .Name("phoenix_test_events_total")
                     .Help("Events")
                     .Register(m.prometheus_registry());
  family.Add({{"topic", "leads"}}).Increment(3);
  EXPECT_TRUE(contains(m.render(), "phoenix_test_events_total{topic=\"leads\"} 3"))
      << m.render();
}

class fixed_collectable : public prometheus::Collectable {
public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily f;
    f.name = "phoenix_test_lag_records";
    f.help = "Lag";
    f.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.gauge.value = 42;
    f.metric.push_back(m);
    return {f};
  }
};

TEST(metrics, collectables_are_read_at_render_time_and_drop_out_when_destroyed) {
  metrics_registry m;
  auto c = std::make_shared<fixed_collectable>();
  m.add_collectable(c);
  EXPECT_TRUE(contains(m.render(), "phoenix_test_lag_records 42")) << m.render();
  c.reset();
  EXPECT_FALSE(contains(m.render(), "phoenix_test_lag_records")) << m.render();
}

} // namespace
