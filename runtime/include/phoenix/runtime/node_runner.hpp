#pragma once

#include "phoenix/runtime/supervisor.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <functional>

namespace phoenix::runtime {

/// Sets up CAF's scheduler as a node runs it:
/// - one worker thread per core (`cores`, or the machine's cores when 0). CAF 0.17
///   starts max(4, cores) workers, which on a small machine puts more workers than cores
///   next to the threads Phoenix runs beside them (a detached group consumer,
///   librdkafka's own threads);
/// - an idle worker spins for 100 polls, then sleeps on its condition variable until
///   work arrives (`work-stealing.moderate-poll-attempts` = 0), instead of CAF's default
///   of waking every 50 us for the first 25 ms of each pause.
void configure_scheduler(caf::actor_system_config& cfg, unsigned cores = 0);

/// Blocks SIGINT and SIGTERM in the calling thread. Call first thing in main, before any
/// thread starts, so that every thread inherits the mask and only `run_node` sees them.
void block_termination_signals();

/// How a node run ended, as a process exit code: 0 after an ordered stop, 1 when the
/// tree failed (restart intensity exceeded upward) or the stop overran its bound, 2 when
/// the tree could not start.
enum class node_exit : int { stopped = 0, failed = 1, start_failed = 2 };

struct node_run_options {
  /// Bound on the ordered stop after a signal or `stop` request.
  std::chrono::milliseconds shutdown_timeout{15000};
  /// Called with the started root supervisor (e.g. to feed it work) before "node
  /// started" is logged; may be empty.
  std::function<void(const caf::actor& root)> on_started;
  /// Called once when a SIGINT/SIGTERM arrives, before the tree is asked to stop (e.g. to
  /// turn `/ready` false so that no new work is routed to a node on its way out); on the
  /// signal-watching thread; may be empty.
  std::function<void()> on_stopping;
};

/// Starts the root supervisor from `root`, then waits until it ends by itself or a
/// SIGINT/SIGTERM arrives; on a signal it asks the root to stop (children in reverse
/// order, each within its own timeout) and waits at most `shutdown_timeout`.
node_exit run_node(caf::actor_system& sys, supervisor_spec root, node_run_options opts);

} // namespace phoenix::runtime
