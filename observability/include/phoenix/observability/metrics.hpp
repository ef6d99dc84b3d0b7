#pragma once

#include <map>
#include <memory>
#include <string>

namespace prometheus {
class Registry;
class Collectable;
} // namespace prometheus

namespace phoenix::observability {

/// The node's metrics: one registry that every module's probe adds to and `/metrics`
/// renders. Only probes (CONVENTIONS §6) reach into prometheus-cpp through it; the rest
/// of Phoenix calls the probes' intent-named methods. Thread-safe.
class metrics_registry {
public:
  metrics_registry();
  ~metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  /// For probes: the prometheus-cpp registry their counters, gauges and histograms live in.
  prometheus::Registry& prometheus_registry() noexcept;

  /// For probes that read values kept elsewhere (e.g. a consumer's atomics) when
  /// scraped, instead of updating a metric on every event. Held weakly: a collectable
  /// that is destroyed drops out of the output.
  void add_collectable(std::weak_ptr<prometheus::Collectable> collectable);

  /// Every metric in the Prometheus text exposition format (version 0.0.4).
  std::string render() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The `phoenix_build_info` gauge (value 1) with the given labels, e.g. version,
/// librdkafka and caf versions. `version` is always set, to Phoenix's own version.
void expose_build_info(metrics_registry& metrics,
                       std::map<std::string, std::string> labels = {});

/// Phoenix's version, as the build configured it (CMake's project version).
const char* phoenix_version() noexcept;

} // namespace phoenix::observability
