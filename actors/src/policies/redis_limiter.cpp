#include "phoenix/actors/policies/redis_limiter.hpp"

#include "policies/redis.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <cmath>
#include <optional>
#include <spdlog/spdlog.h>

namespace phoenix::policies {

const char* const redis_bucket_script = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'granted', 'created')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
local granted = tonumber(s[3]) or 0
local created = tonumber(s[4]) or now
if tokens == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)
else
  now = ts
end
local n = math.min(want, math.floor(tokens))
if n < 0 then n = 0 end
tokens = tokens - n
granted = granted + n
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'ts', string.format('%.0f', now), 'granted', string.format('%.0f', granted),
  'created', string.format('%.0f', created), 'last', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / rate * 1000000) end
return {n, wait}
)lua";

namespace {

using lease_atom = caf::atom_constant<caf::atom("rl_lease")>;
using reconnect_atom = caf::atom_constant<caf::atom("rl_retry")>;

struct limiter_state {
  std::shared_ptr<tenant_limiter> limiter;
  redis_limiter_config cfg;
  std::optional<redis_connection> conn;
  std::string sha;
  std::chrono::milliseconds backoff{};
  bool reconnecting = false;
  static inline const char* name = "phoenix.redis_limiter";
};

using self_ptr = caf::stateful_actor<limiter_state>*;

std::string address(const redis_limiter_config& c) {
  return c.host + ":" + std::to_string(c.port);
}

result<void> connect(limiter_state& st) {
  auto c = redis_connection::connect(st.cfg.host, st.cfg.port, st.cfg.timeout);
  if (!c)
    return c.error();
  auto sha = c->load_script(redis_bucket_script);
  if (!sha)
    return sha.error();
  st.conn.emplace(std::move(*c));
  st.sha = *sha;
  return {};
}

void schedule_reconnect(self_ptr self) {
  auto& st = self->state;
  if (st.reconnecting)
    return;
  st.reconnecting = true;
  self->delayed_send(self, st.backoff, reconnect_atom::value);
  st.backoff = std::min(st.backoff * 2, st.cfg.retry_max);
}

// Redis is unreachable: the lanes go on with the local share.
void lost(self_ptr self, const std::string& why) {
  auto& st = self->state;
  st.conn.reset();
  if (!st.limiter->fallback())
    spdlog::warn("rate limits: Redis at {} unreachable ({}); each tenant falls back to a "
                 "local limit of {} of its rate",
                 address(st.cfg), why, st.limiter->config().fallback_share);
  st.limiter->set_fallback(true);
  schedule_reconnect(self);
}

void lease(self_ptr self, const std::string& tenant) {
  auto& st = self->state;
  if (!st.conn) {
    st.limiter->grant(tenant, 0, st.backoff);
    return;
  }
  auto lim = st.limiter->config().limit_of(tenant);
  auto want = st.limiter->lease_size(tenant);
  auto ttl = std::max(60000.0, std::ceil(lim.burst / lim.rate * 2000));
  auto fmt = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string{buf};
  };
  std::vector<std::string> args{fmt(lim.rate), fmt(lim.burst), fmt(want), fmt(ttl)};
  auto key = st.cfg.key_prefix + tenant;
  auto r = st.conn->evalsha(st.sha, key, args);
  if (!r && r.error().message().find("NOSCRIPT") != std::string::npos) {
    if (auto sha = st.conn->load_script(redis_bucket_script)) { // the server restarted
      st.sha = *sha;
      r = st.conn->evalsha(st.sha, key, args);
    }
  }
  if (!r || r->size() != 2) {
    st.limiter->grant(tenant, 0, st.cfg.retry_min);
    lost(self, r ? "unexpected reply" : r.error().message());
    return;
  }
  st.limiter->grant(tenant, static_cast<double>((*r)[0]),
                    std::chrono::microseconds{(*r)[1]});
}

caf::behavior redis_limiter(self_ptr self, std::shared_ptr<tenant_limiter> limiter,
                            redis_limiter_config cfg) {
  auto& st = self->state;
  st.limiter = std::move(limiter);
  st.cfg = std::move(cfg);
  st.backoff = st.cfg.retry_min;
  if (auto ok = connect(st); !ok)
    lost(self, ok.error().message());
  else
    st.limiter->set_fallback(false);
  return {
      [self](lease_atom, const std::string& tenant) { lease(self, tenant); },
      [self](reconnect_atom) {
        auto& st = self->state;
        st.reconnecting = false;
        if (auto ok = connect(st); !ok) {
          spdlog::debug("rate limits: Redis at {} still unreachable: {}", address(st.cfg),
                        ok.error().message());
          schedule_reconnect(self);
          return;
        }
        st.backoff = st.cfg.retry_min;
        st.limiter->set_fallback(false);
        spdlog::info("rate limits: Redis at {} reachable again; tenants share its limits",
                     address(st.cfg));
      },
  };
}

} // namespace

caf::actor spawn_redis_limiter(caf::actor_system& sys,
                               std::shared_ptr<tenant_limiter> limiter,
                               redis_limiter_config cfg) {
  auto actor = sys.spawn<caf::detached>(redis_limiter, limiter, std::move(cfg));
  // Set before this returns, so no lane takes a token from a local bucket meanwhile;
  // leases asked before the actor has connected wait in its mailbox. A weak handle: the
  // limiter outlives the actor and must not keep it alive.
  caf::weak_actor_ptr weak{caf::actor_cast<caf::actor_control_block*>(actor)};
  limiter->set_remote([weak](const std::string& tenant) {
    if (auto a = caf::actor_cast<caf::actor>(weak.lock()))
      caf::anon_send(a, lease_atom::value, tenant);
  });
  return actor;
}

runtime::child_spec redis_limiter_child(std::string id,
                                        std::shared_ptr<tenant_limiter> limiter,
                                        redis_limiter_config cfg) {
  return {std::move(id), [limiter, cfg](caf::actor_system& sys) -> result<caf::actor> {
            return spawn_redis_limiter(sys, limiter, cfg);
          }};
}

} // namespace phoenix::policies
