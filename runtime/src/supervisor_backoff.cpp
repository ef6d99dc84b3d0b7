// Restart backoff of the supervisor actor (runtime/README.md, "Restart backoff").
#include "phoenix/runtime/actor_error.hpp"
#include "supervisor_actor.hpp"

#include <algorithm>

namespace phoenix::runtime::detail {

// The children a restart of `i` starts, by strategy.
std::pair<std::size_t, std::size_t> supervisor_actor::restart_range(std::size_t i) const {
  switch (spec_.strategy) {
  case restart_strategy::one_for_one:
    break;
  case restart_strategy::one_for_all:
    return {0, children_.size()};
  case restart_strategy::rest_for_one:
    return {i, children_.size()};
  }
  return {i, i + 1};
}

// Under backoff: the first exit since the child was stable restarts it at once
// (false); a later one stops the siblings the strategy restarts with it and waits.
bool supervisor_actor::delay_restart(std::size_t i, const caf::error& reason) {
  auto& c = children_[i];
  if (clock().now() - c.started_at >= spec_.backoff->reset_after)
    c.failures = 0;
  if (c.failures++ == 0)
    return false;
  auto text = describe(reason);
  auto [first, last] = restart_range(i);
  std::vector<std::size_t> stop;
  if (spec_.strategy == restart_strategy::one_for_all)
    stop = running_in_reverse(0, i);
  else if (spec_.strategy == restart_strategy::rest_for_one)
    stop = running_in_reverse(i + 1, i);
  stop_then(std::move(stop), [this, i, first = first, last = last, text] {
    wait_then_start(i, first, last, text);
  });
  return true;
}

void supervisor_actor::wait_then_start(std::size_t i, std::size_t first, std::size_t last,
                                       const std::string& why) {
  auto& c = children_[i];
  std::uniform_real_distribution<double> draw{0.0, 1.0};
  auto delay = backoff_delay(*spec_.backoff, std::max(1, c.failures - 1), draw(rng_));
  c.wait_token = ++wait_seq_;
  c.wait_first = first;
  c.wait_last = last;
  ++restarts_;
  emit(supervisor_event::restart_delayed, i,
       "restart delayed " + std::to_string(delay.count()) + " ms (failure " +
           std::to_string(c.failures) + " since stable): " + why);
  delayed_send(this, delay, restart_due_atom::value, static_cast<std::uint64_t>(i),
               c.wait_token);
}

void supervisor_actor::restart_due(std::uint64_t index, std::uint64_t token) {
  if (shutting_down_ || index >= children_.size())
    return;
  auto& c = children_[index];
  if (c.wait_token != token)
    return;
  c.wait_token = 0;
  if (job_)
    pending_.push_back(pending_exit{index, c.generation, {}, true});
  else
    start_all_from(c.wait_first, c.wait_last);
}

void supervisor_actor::backoff_reset(std::uint64_t index, std::uint64_t generation) {
  if (index >= children_.size())
    return;
  auto& c = children_[index];
  if (!c.handle || c.generation != generation || c.failures == 0)
    return;
  bool waited = c.failures > 1; // not after a single immediate restart
  c.failures = 0;
  if (waited)
    emit(supervisor_event::backoff_reset, index,
         "up for " + std::to_string(spec_.backoff->reset_after.count()) + " ms");
}

} // namespace phoenix::runtime::detail
