#pragma once

#include "phoenix/observability/duration_histogram.hpp"

#include <array>
#include <atomic>
#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace phoenix::persistence {

/// What the store actors behind one link did with their group-committed batches, over
/// all their incarnations: read by `/metrics` (`expose_store_metrics`). Lock-free.
struct store_batch_stats {
  /// Upper bounds of the batch size buckets (requests per transaction); one more holds
  /// the rest.
  static constexpr std::array<double, 10> size_bounds = {1,  2,   5,   10,  20,
                                                         50, 100, 200, 500, 1000};
  std::array<std::atomic<std::uint64_t>, size_bounds.size() + 1> sizes{};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> failed{0};      ///< Batches that failed as a whole.
  observability::duration_histogram latency; ///< Time of each batch's transaction.

  void observe(std::size_t size, std::chrono::nanoseconds took, bool ok) noexcept;
};

/// How the rest of a node finds its store actor, and whether the store takes writes:
/// what the partition pipeline sends its claims to and what `/ready` reads. The store
/// child updates it on every start, failed write, reconnect and stop. Copies share one
/// state; every member is thread-safe. Like `runtime::actor_slot` it refers to the actor
/// weakly: it keeps no actor alive.
///
/// Look the actor up on every use instead of keeping it: the supervisor restarts the
/// store child, and a handle kept from before names a dead actor (a request to it fails
/// with `caf::sec::request_receiver_down`, which callers treat like store_unavailable).
class store_link {
public:
  /// A link with no store actor yet (not ready).
  store_link();

  /// The store actor running now, or null before the first start and while it is down.
  caf::actor actor() const;

  /// True while a store actor runs and its database took the last write (or a reconnect
  /// succeeded since the last failure). False before the first start, from a failed write
  /// until the reconnect, and while the actor is down between restarts.
  bool ready() const noexcept;

  /// Why the store is not ready; empty while it is.
  std::string reason() const;
  /// The batches of the store actors attached to this link.
  store_batch_stats& batches() const noexcept;

  // -- written by the store child ----------------------------------------------------

  /// A new store actor is up: it becomes the one `actor()` returns, and ready.
  void attach(caf::actor store);

  /// The store actor `source` found its database unreachable (`up` false, with why) or
  /// reachable again. Ignored unless `source` is the attached actor, so a report of an
  /// actor the supervisor already replaced cannot overwrite its successor's.
  void report(const caf::actor_addr& source, bool up, std::string why);

  /// The store actor `source` stopped: not ready until the next `attach`.
  void detach(const caf::actor_addr& source, std::string why);

private:
  struct state;
  std::shared_ptr<state> s_;
};

} // namespace phoenix::persistence
