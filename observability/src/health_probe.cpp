#include "health_probe.hpp"

#include <prometheus/registry.h>

namespace phoenix::observability {

health_probe::health_probe(metrics_registry& metrics)
    : restarts_(prometheus::BuildCounter()
                    .Name("phoenix_actor_restarts_total")
                    .Help("Actors restarted by their supervisor, per actor kind")
                    .Register(metrics.prometheus_registry())),
      crashes_(prometheus::BuildCounter()
                   .Name("phoenix_actor_crashes_total")
                   .Help("Actors that ended abnormally, per actor kind")
                   .Register(metrics.prometheus_registry())),
      escalations_(prometheus::BuildCounter()
                       .Name("phoenix_supervisor_escalations_total")
                       .Help("Supervisors that exceeded their restart intensity and "
                             "failed upward")
                       .Register(metrics.prometheus_registry())),
      storm_(prometheus::BuildGauge()
                 .Name("phoenix_restart_storm")
                 .Help("1 while restarts within the storm window reach the threshold "
                       "([health] storm_restarts); /ready fails meanwhile")
                 .Register(metrics.prometheus_registry())
                 .Add({})) {}

void health_probe::record_restart(const std::string& kind) {
  restarts_.Add({{"kind", kind}}).Increment();
}

void health_probe::record_crash(const std::string& kind) {
  crashes_.Add({{"kind", kind}}).Increment();
}

void health_probe::record_escalation(const std::string& supervisor) {
  escalations_.Add({{"supervisor", supervisor}}).Increment();
}

void health_probe::know(const std::string& kind, const std::string& supervisor) {
  restarts_.Add({{"kind", kind}});
  crashes_.Add({{"kind", kind}});
  escalations_.Add({{"supervisor", supervisor}});
}

void health_probe::set_storm(bool on) {
  storm_.Set(on ? 1 : 0);
}

} // namespace phoenix::observability
