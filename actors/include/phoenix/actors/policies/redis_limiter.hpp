#pragma once

#include "phoenix/actors/policies/rate_limit.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace phoenix::policies {

/// Where the Redis backend of `[tenants]` keeps its buckets, and how it retries.
struct redis_limiter_config {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string key_prefix = "phoenix:rate:";  ///< One hash per tenant: prefix + tenant.
  std::chrono::milliseconds timeout{500};    ///< Connect and every command.
  std::chrono::milliseconds retry_min{100};  ///< Reconnect backoff while unreachable,
  std::chrono::milliseconds retry_max{2000}; ///< doubling from min to max.

  static redis_limiter_config from(const runtime::tenants_config& t) {
    redis_limiter_config c;
    c.host = t.redis_host;
    c.port = t.redis_port;
    return c;
  }
};

/// The Lua script of the shared bucket (run with EVALSHA, atomically): refills the
/// tenant's bucket by Redis's own clock (`TIME`), so every node sees one bucket, takes up
/// to the asked number of whole tokens, and keeps the totals (`granted`, `created`,
/// `last`, microseconds) in the tenant's hash for inspection.
/// `KEYS[1]` = hash; `ARGV` = rate, burst, tokens wanted, TTL in ms. Returns
/// `{tokens granted, microseconds until the next token}`.
extern const char* const redis_bucket_script;

/// Starts the limiter actor (detached: it owns one blocking hiredis connection, so no
/// CAF worker waits for Redis) and makes it `limiter`'s remote: lanes that find a
/// tenant's lease empty ask it for more, and it asks Redis for a small lease (about 20 ms
/// of the tenant's rate). When Redis is unreachable (connect or a call fails) it turns
/// the limiter's fallback on (warning logged once), retries with backoff, and turns it
/// off again when Redis answers (info logged). Never fails to start: an unreachable
/// Redis at start is a fallback from the start.
caf::actor spawn_redis_limiter(caf::actor_system& sys,
                               std::shared_ptr<tenant_limiter> limiter,
                               redis_limiter_config cfg);

/// `spawn_redis_limiter` as a supervised child (the node's policy actors).
runtime::child_spec redis_limiter_child(std::string id,
                                        std::shared_ptr<tenant_limiter> limiter,
                                        redis_limiter_config cfg);

} // namespace phoenix::policies
