#pragma once

#include "phoenix/actors/policies/breaker.hpp"
#include "phoenix/observability/duration_histogram.hpp"
#include "phoenix/runtime/guard_config.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace phoenix::policies {

/// A token bucket: starts full (`burst` tokens), refills `rate` tokens a second up to
/// `burst`. Not thread-safe; time is passed in, so tests run it on virtual time.
class token_bucket {
public:
  token_bucket(runtime::rate_limit limit, clock::time_point now);

  /// Takes one token at `now`: zero when taken, else how long until one is there.
  clock::duration take(clock::time_point now);

  /// Tokens there at `now` (refilled up to then).
  double tokens(clock::time_point now);

private:
  void refill(clock::time_point now);

  runtime::rate_limit limit_;
  double tokens_;
  clock::time_point at_;
};

/// The per-tenant rate limits of a node (`[tenants]`), shared by every lane. Thread-safe.
///
/// Local backend: one `token_bucket` per tenant. Redis backend (`remote` set): tokens
/// come in small leases from the Redis limiter actor (policies/redis_limiter.hpp), which
/// takes them from one bucket per tenant in Redis; a lane never waits for Redis, it
/// waits a little and asks again. While Redis is unreachable (`set_fallback(true)`) each
/// tenant gets a local bucket of its `fallback_share`.
class tenant_limiter {
public:
  explicit tenant_limiter(runtime::tenants_config cfg, clock_fn now = clock::now);
  ~tenant_limiter();

  const runtime::tenants_config& config() const noexcept { return cfg_; }

  /// Takes a token of `tenant`: zero when taken, else how long to wait before asking
  /// again. `first` is the record's first ask: a refusal then counts it as throttled.
  clock::duration acquire(std::string_view tenant, bool first = true);

  /// A throttled record got its token after waiting `waited`.
  void waited(clock::duration waited);

  // -- Redis backend ------------------------------------------------------------------

  /// Asks for a lease of `tenant`'s tokens (called at most once per tenant until the
  /// answer, outside the limiter's lock). Set before the first acquire.
  void set_remote(std::function<void(const std::string& tenant)> ask);

  /// How many tokens to ask Redis for at once: about 20 ms of the tenant's rate, at
  /// least 1, at most its burst.
  double lease_size(const std::string& tenant) const;

  /// The answer to a lease: `tokens` granted (maybe 0); `retry_after`: when Redis will
  /// have more.
  void grant(const std::string& tenant, double tokens, clock::duration retry_after);

  /// Redis unreachable (true) or back (false). Leases are dropped either way.
  void set_fallback(bool on);
  bool fallback() const noexcept { return fallback_.load(std::memory_order_acquire); }

  // -- counts, for the probe ----------------------------------------------------------

  /// Calls `f(tenant, throttled records)` for every tenant seen, in name order.
  void
  for_each_tenant(const std::function<void(const std::string&, std::uint64_t)>& f) const;
  const observability::duration_histogram& wait_histogram() const noexcept { return wait_; }
  std::uint64_t fallbacks() const noexcept { return fallbacks_.load(); }

private:
  struct tenant_state;
  tenant_state& state_of(std::string_view tenant); // under mtx_

  runtime::tenants_config cfg_;
  clock_fn now_;
  std::function<void(const std::string&)> remote_;
  std::atomic<bool> fallback_{false};
  std::atomic<std::uint64_t> fallbacks_{0};
  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<tenant_state>, std::less<>> tenants_;
  observability::duration_histogram wait_;
};

} // namespace phoenix::policies
