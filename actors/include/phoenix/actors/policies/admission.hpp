#pragma once

#include "phoenix/actors/policies/breaker.hpp"
#include "phoenix/actors/policies/rate_limit.hpp"
#include "phoenix/observability/readiness.hpp"
#include "phoenix/runtime/config.hpp"

#include <memory>

namespace phoenix::policies {

/// What admits a record to its handler on a node: the breaker of the handler's
/// downstream (`kafka::handler::downstream`) and the tenant's rate limit. One per node,
/// shared by every consumer (`kafka::group_consumer_config::admission`); either part may
/// be null (off).
struct admission {
  std::shared_ptr<breaker_registry> breakers;
  std::shared_ptr<tenant_limiter> tenants;
};

/// The node's admission from `[breaker."<name>"]` and `[tenants]` (checked by
/// `runtime::parse_config`): breakers always (a handler may name a downstream without a
/// section), a tenant limiter when `[tenants]` is present. With the Redis backend the
/// limiter needs its actor too (`redis_limiter_child`).
std::shared_ptr<admission> make_admission(const runtime::node_config& cfg,
                                          clock_fn now = clock::now);

/// Adds the readiness check `breaker:<name>` for every downstream whose section says
/// `required = true`: failing while its breaker is open.
void add_readiness_checks(const runtime::node_config& cfg, const admission& a,
                          observability::readiness& ready);

} // namespace phoenix::policies
