#pragma once

// What the actors module's probes share: building Prometheus families and samples, and
// summing duration histograms. Only probes include prometheus-cpp (CONVENTIONS §6).

#include "phoenix/observability/duration_histogram.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <prometheus/metric_family.h>
#include <vector>

namespace phoenix::probe_util {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

inline MetricFamily family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

inline ClientMetric labelled(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

// Sums histograms (of one topic's partitions) into one Prometheus histogram.
struct histogram_sum {
  std::array<std::uint64_t, observability::duration_histogram::bounds.size() + 1> counts{};
  double sum = 0;

  void add(const observability::duration_histogram& h) {
    for (std::size_t i = 0; i < counts.size(); ++i)
      counts[i] += h.count(i);
    sum += h.sum_seconds();
  }

  ClientMetric::Histogram to_prometheus() const {
    ClientMetric::Histogram out;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < observability::duration_histogram::bounds.size(); ++i) {
      cumulative += counts[i];
      out.bucket.push_back({cumulative, observability::duration_histogram::bounds[i]});
    }
    cumulative += counts.back();
    out.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    out.sample_count = cumulative;
    out.sample_sum = sum;
    return out;
  }
};

} // namespace phoenix::probe_util
