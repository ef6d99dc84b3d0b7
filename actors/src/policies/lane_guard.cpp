#include "policies/lane_guard.hpp"

namespace phoenix::policies {

lane_guard::lane_guard(const admission* a, const std::string& downstream) {
  if (!a)
    return;
  if (a->breakers && !downstream.empty())
    breaker_ = a->breakers->of(downstream);
  tenants_ = a->tenants;
}

clock::duration lane_guard::admit(std::int64_t offset,
                                  std::optional<std::string_view> tenant) {
  // The tenant's token first, kept for this record while the breaker refuses it: a
  // record waiting for the breaker does not spend its tenant's tokens again.
  if (tenants_ && tenant && token_for_ != offset) {
    bool first = waiting_ != offset;
    auto wait = tenants_->acquire(*tenant, first);
    if (wait > clock::duration::zero()) {
      if (first) {
        waiting_ = offset;
        since_ = clock::now();
      }
      return wait;
    }
    if (waiting_ == offset) {
      tenants_->waited(clock::now() - since_);
      waiting_ = -1;
    }
    token_for_ = offset;
  }
  if (breaker_) {
    auto permit = breaker_->acquire();
    if (!permit.allowed)
      return std::max<clock::duration>(permit.wait, std::chrono::milliseconds{1});
    probe_ = permit.probe;
    admitted_ = true;
  }
  return clock::duration::zero();
}

bool lane_guard::hold_after(kafka::handler_status status) {
  if (!breaker_ || !admitted_)
    return false;
  // A rejected record is the record's fault, not the downstream's.
  bool ok = status != kafka::handler_status::retry;
  breaker_->record(ok, probe_);
  probe_ = false;
  if (ok) {
    admitted_ = false;
    return false;
  }
  // A retry is another call: it needs the breaker's permission like the first.
  auto permit = breaker_->acquire();
  if (permit.allowed) {
    probe_ = permit.probe;
    return false;
  }
  admitted_ = false;
  return true;
}

void lane_guard::failed() {
  if (breaker_ && admitted_)
    breaker_->record(false, probe_);
  probe_ = false;
  admitted_ = false;
}

} // namespace phoenix::policies
