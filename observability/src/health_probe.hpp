#pragma once

// The health monitor's metrics: restarts and crashes per actor kind, escalations per
// supervisor, and whether a restart storm is on.

#include "phoenix/observability/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <string>

namespace phoenix::observability {

class health_probe {
public:
  explicit health_probe(metrics_registry& metrics);

  void record_restart(const std::string& kind);
  void record_crash(const std::string& kind);
  void record_escalation(const std::string& supervisor);
  void set_storm(bool on);
  /// Creates the series of an actor kind and a supervisor at 0.
  void know(const std::string& kind, const std::string& supervisor);

private:
  prometheus::Family<prometheus::Counter>& restarts_;
  prometheus::Family<prometheus::Counter>& crashes_;
  prometheus::Family<prometheus::Counter>& escalations_;
  prometheus::Gauge& storm_;
};

} // namespace phoenix::observability
