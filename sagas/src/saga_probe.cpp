#include "phoenix/sagas/saga_probe.hpp"

#include <mutex>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <vector>

namespace phoenix::sagas {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

class saga_probe::collector : public prometheus::Collectable {
public:
  void add(std::string type, std::shared_ptr<const saga_stats> stats) {
    std::lock_guard<std::mutex> g{mtx_};
    sagas_.emplace_back(std::move(type), std::move(stats));
  }
  void add_relay(std::shared_ptr<const relay_stats> stats) {
    std::lock_guard<std::mutex> g{mtx_};
    relays_.push_back(std::move(stats));
  }

  std::vector<MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> g{mtx_};
    using field = double (*)(const saga_stats&);
    auto family = [this](const char* name, const char* help, prometheus::MetricType type,
                         field f) {
      MetricFamily fam;
      fam.name = name;
      fam.help = help;
      fam.type = type;
      for (const auto& [saga_type, stats] : sagas_) {
        ClientMetric m;
        m.label.push_back({"type", saga_type});
        if (type == prometheus::MetricType::Counter)
          m.counter.value = f(*stats);
        else
          m.gauge.value = f(*stats);
        fam.metric.push_back(m);
      }
      return fam;
    };
    auto counter = prometheus::MetricType::Counter;
    auto gauge = prometheus::MetricType::Gauge;
    std::vector<MetricFamily> out{
        family("phoenix_sagas_started_total", "Sagas started (first state durable)",
               counter,
               [](const saga_stats& s) { return static_cast<double>(s.started.load()); }),
        family("phoenix_sagas_completed_total", "Sagas that did every step", counter,
               [](const saga_stats& s) { return static_cast<double>(s.completed.load()); }),
        family(
            "phoenix_sagas_compensated_total",
            "Sagas that failed a step and undid the completed ones", counter,
            [](const saga_stats& s) { return static_cast<double>(s.compensated.load()); }),
        family("phoenix_sagas_failed_total",
               "Sagas that ended in compensation_failed (a compensation kept failing)",
               counter,
               [](const saga_stats& s) {
                 return static_cast<double>(s.compensation_failed.load());
               }),
        family("phoenix_sagas_in_flight", "Sagas in flight on this node", gauge,
               [](const saga_stats& s) { return static_cast<double>(s.in_flight.load()); }),
        family("phoenix_saga_instances", "Saga instance actors alive (not passivated)",
               gauge,
               [](const saga_stats& s) { return static_cast<double>(s.instances.load()); }),
        family(
            "phoenix_saga_passivations_total",
            "Idle saga instances stopped, their state kept by the coordinator", counter,
            [](const saga_stats& s) { return static_cast<double>(s.passivations.load()); }),
        family("phoenix_saga_instance_restarts_total",
               "Crashed saga instances restarted from the store", counter,
               [](const saga_stats& s) {
                 return static_cast<double>(s.instance_restarts.load());
               }),
        family("phoenix_saga_mailbox_depth",
               "Messages waiting in the coordinator's mailbox (sampled per event routed, "
               "and 1 s later while not empty)",
               gauge,
               [](const saga_stats& s) {
                 return static_cast<double>(s.mailbox_depth.load());
               }),
    };
    MetricFamily published{"phoenix_saga_outbox_published_total",
                           "Outbox rows the relay delivered and marked published",
                           counter,
                           {}};
    MetricFamily failures{"phoenix_saga_outbox_failures_total",
                          "Outbox deliveries that failed (sent again in a later round)",
                          counter,
                          {}};
    double p = 0, f = 0;
    for (const auto& r : relays_) {
      p += static_cast<double>(r->published.load());
      f += static_cast<double>(r->failures.load());
    }
    ClientMetric m;
    m.counter.value = p;
    published.metric.push_back(m);
    m.counter.value = f;
    failures.metric.push_back(m);
    out.push_back(std::move(published));
    out.push_back(std::move(failures));
    return out;
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::pair<std::string, std::shared_ptr<const saga_stats>>> sagas_;
  std::vector<std::shared_ptr<const relay_stats>> relays_;
};

saga_probe::saga_probe(observability::metrics_registry& metrics)
    : collector_(std::make_shared<collector>()) {
  metrics.add_collectable(collector_);
}

saga_probe::~saga_probe() = default;

void saga_probe::add(std::string type, std::shared_ptr<const saga_stats> stats) {
  collector_->add(std::move(type), std::move(stats));
}

void saga_probe::add_relay(std::shared_ptr<const relay_stats> stats) {
  collector_->add_relay(std::move(stats));
}

} // namespace phoenix::sagas
