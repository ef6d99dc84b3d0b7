#pragma once

// A lane's admission step (private to the actors module): before a handler call, the
// tenant's token and the downstream breaker's permission; after it, the outcome to the
// breaker. A record that may not run yet stays where it is: the lane lets go and asks
// again after the wait this returns (a delayed message to itself), so neither the CAF
// worker nor other lanes wait with it.

#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/actors/policies/admission.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace phoenix::policies {

class lane_guard {
public:
  lane_guard() = default; // admits everything

  /// `downstream` empty: no breaker.
  lane_guard(const admission* a, const std::string& downstream);

  bool active() const noexcept { return breaker_ || tenants_; }

  /// Before the handler call for the record at `offset`: zero when it may run now,
  /// else how long to wait before asking again.
  clock::duration admit(std::int64_t offset, std::optional<std::string_view> tenant);

  /// After the handler answered an admitted call. True when the record must wait
  /// instead of being retried now: it asked for a retry and the breaker has opened.
  bool hold_after(kafka::handler_status status);

  /// After a handler crash or an actor handler's error: a failed call.
  void failed();

  /// One delayed wake-up at a time: true when the caller should schedule one.
  bool schedule_wake() {
    bool was = wake_pending_;
    wake_pending_ = true;
    return !was;
  }
  void woken() { wake_pending_ = false; }

private:
  std::shared_ptr<circuit_breaker> breaker_;
  std::shared_ptr<tenant_limiter> tenants_;
  std::int64_t token_for_ = -1; // the record whose tenant token is taken
  std::int64_t waiting_ = -1;   // the record refused a token, since `since_`
  clock::time_point since_{};
  bool probe_ = false; // the admitted call is the half-open breaker's probe
  bool admitted_ = false;
  bool wake_pending_ = false;
};

} // namespace phoenix::policies
