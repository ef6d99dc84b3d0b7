#include "phoenix/actors/policies/admission.hpp"

namespace phoenix::policies {

std::shared_ptr<admission> make_admission(const runtime::node_config& cfg, clock_fn now) {
  auto a = std::make_shared<admission>();
  a->breakers = std::make_shared<breaker_registry>(cfg.breakers, now);
  if (cfg.tenants.enabled)
    a->tenants = std::make_shared<tenant_limiter>(cfg.tenants, now);
  return a;
}

void add_readiness_checks(const runtime::node_config& cfg, const admission& a,
                          observability::readiness& ready) {
  if (!a.breakers)
    return;
  for (auto& [name, settings] : cfg.breakers) {
    if (!settings.required)
      continue;
    ready.add("breaker:" + name, [b = a.breakers->of(name)] {
      auto s = b->state();
      return observability::check_state{s != breaker_state::open,
                                        std::string{"breaker "} + to_string(s)};
    });
  }
}

} // namespace phoenix::policies
