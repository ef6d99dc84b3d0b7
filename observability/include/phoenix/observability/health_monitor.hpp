#pragma once

#include "phoenix/observability/metrics.hpp"
#include "phoenix/observability/readiness.hpp"
#include "phoenix/runtime/config.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace phoenix::observability {

/// What the health monitor has seen, readable from any thread (the HTTP handlers).
class health_state {
public:
  /// Liveness: the supervision tree is up. The node sets it once the root supervisor
  /// has started; the monitor clears it when the root gives up (restart intensity).
  bool tree_up() const noexcept { return tree_up_.load(); }
  void set_tree_up(bool up) noexcept { tree_up_.store(up); }

  /// The readiness check of the monitor: failing while a child restarted under backoff
  /// (runtime::restart_backoff) has not been stable since, naming it and its last
  /// failure, and during a restart storm.
  check_state storm_check() const;

  /// Children restarting under backoff and not stable since, as `supervisor/child`.
  std::vector<std::string> backing_off() const;

  bool storm() const;
  std::uint64_t restarts(const std::string& kind) const;
  std::uint64_t crashes(const std::string& kind) const;
  std::uint64_t escalations(const std::string& supervisor) const;

private:
  friend struct health_monitor_access;
  std::atomic<bool> tree_up_{false};
  mutable std::mutex mtx_;
  bool storm_ = false;
  std::size_t in_window_ = 0;
  std::map<std::string, std::uint64_t> restarts_, crashes_, escalations_;
  std::string last_restart_;
  std::map<std::string, std::string> backing_off_; // supervisor/child -> last delay
};

/// The kind of actor a child id names, for metrics that must not grow with instances:
/// the part before the first ':' (`consumer:leads` is a `consumer`), else the id.
std::string actor_kind(const std::string& child_id);

struct health_monitor_options {
  runtime::health_config config;
  std::string root_supervisor = "node"; ///< Whose escalation ends liveness.
  std::string id = "health";            ///< Child id.
};

/// The health monitor, as a child of the node supervisor (start it first, so it hears
/// the others start). It registers itself as the supervision observer of the actor
/// system and so learns every start, exit, restart, kill and escalation of every
/// supervisor, nested ones included. It counts restarts and crashes per actor kind and
/// escalations per supervisor (in `state` and as metrics), and calls a restart storm
/// (`storm_restarts` restarts within `storm_window`) until the window holds fewer again.
/// A child whose restart waits out a backoff counts as backing off until its supervisor
/// reports it stable (`backoff_reset`), starts it afresh, or gives up.
/// `state->storm_check()` is what `/ready` asks. Adds the `restarts` readiness check.
runtime::child_spec health_monitor_child(health_monitor_options opts,
                                         std::shared_ptr<health_state> state,
                                         std::shared_ptr<metrics_registry> metrics,
                                         std::shared_ptr<readiness> ready);

} // namespace phoenix::observability
