#include "phoenix/actors/policies/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace phoenix::policies {

namespace {

clock::duration seconds(double s) {
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{s});
}

// A lane asks again no sooner than this (a busy lane would spin) and no later (a
// tenant whose lease comes back early should not idle long).
constexpr auto min_wait = std::chrono::milliseconds{1};
constexpr auto max_remote_wait = std::chrono::milliseconds{50};

} // namespace

token_bucket::token_bucket(runtime::rate_limit limit, clock::time_point now)
    : limit_(limit), tokens_(limit.burst), at_(now) {}

void token_bucket::refill(clock::time_point now) {
  if (now <= at_)
    return;
  double elapsed = std::chrono::duration<double>(now - at_).count();
  tokens_ = std::min(limit_.burst, tokens_ + elapsed * limit_.rate);
  at_ = now;
}

double token_bucket::tokens(clock::time_point now) {
  refill(now);
  return tokens_;
}

clock::duration token_bucket::take(clock::time_point now) {
  refill(now);
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return clock::duration::zero();
  }
  return std::max<clock::duration>(seconds((1 - tokens_) / limit_.rate), min_wait);
}

struct tenant_limiter::tenant_state {
  runtime::rate_limit limit;
  std::optional<token_bucket> local; // local backend, or Redis fallback
  double leased = 0;                 // Redis backend: tokens of leases not yet used
  bool asked = false;                // a lease is on its way
  clock::duration retry_after{min_wait};
  std::uint64_t throttled = 0;
};

tenant_limiter::tenant_limiter(runtime::tenants_config cfg, clock_fn now)
    : cfg_(std::move(cfg)), now_(std::move(now)) {}

tenant_limiter::~tenant_limiter() = default;

tenant_limiter::tenant_state& tenant_limiter::state_of(std::string_view tenant) {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) {
    auto st = std::make_unique<tenant_state>();
    st->limit = cfg_.limit_of(std::string{tenant});
    it = tenants_.emplace(std::string{tenant}, std::move(st)).first;
  }
  return *it->second;
}

clock::duration tenant_limiter::acquire(std::string_view tenant, bool first) {
  std::string ask; // set when a lease must be asked for, outside the lock
  clock::duration wait{};
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& st = state_of(tenant);
    if (!remote_ || fallback()) {
      if (!st.local) {
        auto lim = st.limit;
        if (remote_) { // the share of a cluster-wide limit
          lim.rate *= cfg_.fallback_share;
          lim.burst = std::max(1.0, lim.burst * cfg_.fallback_share);
        }
        st.local.emplace(lim, now_());
      }
      wait = st.local->take(now_());
    } else if (st.leased >= 1) {
      st.leased -= 1;
    } else {
      wait = std::clamp<clock::duration>(st.retry_after, min_wait, max_remote_wait);
      if (!st.asked) {
        st.asked = true;
        ask = std::string{tenant};
      }
    }
    if (wait > clock::duration::zero() && first)
      ++st.throttled;
  }
  if (!ask.empty())
    remote_(ask);
  return wait;
}

void tenant_limiter::waited(clock::duration waited) {
  wait_.observe(waited);
}

void tenant_limiter::set_remote(std::function<void(const std::string&)> ask) {
  std::lock_guard<std::mutex> guard{mtx_};
  remote_ = std::move(ask);
  for (auto& [name, st] : tenants_)
    st->asked = false; // asked of an actor that is gone (restarted): ask the new one
}

double tenant_limiter::lease_size(const std::string& tenant) const {
  auto lim = cfg_.limit_of(tenant);
  return std::clamp(std::ceil(lim.rate * 0.02), 1.0, std::max(1.0, std::floor(lim.burst)));
}

void tenant_limiter::grant(const std::string& tenant, double tokens,
                           clock::duration retry_after) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& st = state_of(tenant);
  st.asked = false;
  if (fallback())
    return; // the lease came from before the fallback: Redis counted it, nobody uses it
  st.leased += tokens;
  st.retry_after = tokens > 0 ? min_wait : retry_after;
}

void tenant_limiter::set_fallback(bool on) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (fallback_.exchange(on) == on)
    return;
  if (on)
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
  for (auto& [name, st] : tenants_) {
    st->leased = 0;
    st->asked = false;
    st->local.reset(); // a fresh bucket of the share on the next fallback
  }
}

void tenant_limiter::for_each_tenant(
    const std::function<void(const std::string&, std::uint64_t)>& f) const {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [name, st] : tenants_)
    f(name, st->throttled);
}

} // namespace phoenix::policies
