#pragma once

#include "phoenix/actors/policies/admission.hpp"
#include "phoenix/observability/metrics.hpp"

#include <memory>

namespace phoenix::policies {

/// The metrics of the node's admission (breakers and tenant rate limits), read from
/// their counters when `/metrics` is scraped; nothing happens per record:
/// - `phoenix_breaker_state{downstream}`: 0 closed, 1 open, 2 half-open
/// - `phoenix_breaker_transitions_total{downstream,to}`: into `open`, `half_open`,
///   `closed`
/// - `phoenix_breaker_refused_calls_total{downstream}`: calls that had to wait
/// - `phoenix_records_throttled_total{tenant}`: records that waited for a token
/// - `phoenix_rate_limit_wait_seconds`: histogram of how long they waited
/// - `phoenix_rate_limit_fallback`: 1 while Redis is unreachable and the node limits
///   with its local share, else 0; `phoenix_rate_limit_fallbacks_total`
class guard_probe {
public:
  /// Registers with `metrics`; the families render (without samples) when a part of
  /// `a` is off.
  guard_probe(observability::metrics_registry& metrics, std::shared_ptr<const admission> a);
  ~guard_probe();

  class collector;

private:
  std::shared_ptr<collector> collector_;
};

} // namespace phoenix::policies
