#pragma once

// `[breaker."<downstream>"]` and `[tenants]`: the circuit breakers and per-tenant rate
// limits that admit records to their handlers (actors/policies). Parsed and checked with
// the rest of the node config (`runtime::parse_config`); `validate_breaker` and
// `validate_tenants` check the same rules for settings made in code.

#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <map>
#include <string>

namespace phoenix::runtime {

/// One downstream's circuit breaker. It opens after `consecutive_failures` failed calls
/// in a row, or when at least `min_calls` of the last `window` calls were made and the
/// share of failures among them reaches `failure_rate`; 0 turns a rule off (at least one
/// must be on). After `cool_down` one probe call goes through (half-open): success closes
/// it, failure opens it again.
struct breaker_settings {
  int consecutive_failures = 5; ///< 0: off; else 1 to 1,000,000.
  double failure_rate = 0;      ///< 0: off; else over 0 and at most 1.
  int window = 20;              ///< Calls the failure rate looks at: 1 to 10,000.
  int min_calls = 10;           ///< Calls in the window before the rate counts: 1..window.
  std::chrono::milliseconds cool_down{5000};
  /// An open breaker turns `/ready` false (the node cannot do its work without it).
  bool required = false;
};

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
struct rate_limit {
  double rate = 0;  ///< Over 0.
  double burst = 1; ///< At least 1.
};

enum class limit_backend {
  local, ///< One bucket per tenant in this process.
  redis, ///< One bucket per tenant in Redis, shared by every node using it.
};

/// `[tenants]`: per-tenant rate limits on records (header `tenant-id`). Records without
/// a tenant are not limited.
struct tenants_config {
  bool enabled = false; ///< The section is present.
  limit_backend backend = limit_backend::local;
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  rate_limit default_limit{100, 100}; ///< Tenants not listed in `limits`.
  std::map<std::string, rate_limit> limits;
  /// Share of a tenant's limit this node takes while Redis is unreachable: over 0, at
  /// most 1 (`fallback_share`, or `1 / nodes`).
  double fallback_share = 1;

  /// The limit of `tenant`.
  const rate_limit& limit_of(const std::string& tenant) const {
    auto it = limits.find(tenant);
    return it == limits.end() ? default_limit : it->second;
  }
};

/// Errors: errc::config_bad_value naming the origin, the section and the key, e.g.
/// `node.toml: [breaker."crm"] failure_rate: expected over 0 and at most 1, got 1.5`.
result<void> validate_breaker(const std::string& downstream, const breaker_settings& s,
                              const std::string& origin);

/// Errors: errc::config_bad_value naming the origin, the section and the key, e.g.
/// `node.toml: [tenants.limits."acme"] rate: expected a number over 0, got 0`.
result<void> validate_tenants(const tenants_config& t, const std::string& origin);

} // namespace phoenix::runtime
