#include "kafka/partition_state.hpp"

#include <functional>
#include <limits>

namespace phoenix::kafka {

partition_state::partition_state(std::uint64_t id, std::size_t lanes, std::size_t bound,
                                 const std::shared_ptr<void>& keep_alive)
    : id_(id), lanes_(lanes == 0 ? 1 : lanes), bound_(bound == 0 ? 1 : bound) {
  for (auto& l : lanes_)
    l.channel = std::make_shared<lane_channel>(keep_alive);
}

std::size_t partition_state::lane_of(std::string_view key) const noexcept {
  return lanes_.size() == 1 ? 0 : std::hash<std::string_view>{}(key) % lanes_.size();
}

void partition_state::refresh() {
  std::size_t in_flight = 0;
  auto lowest_open = std::numeric_limits<std::int64_t>::max();
  for (auto& l : lanes_) {
    auto finished = l.channel->finished.load(std::memory_order_acquire);
    auto last = l.channel->last.load(std::memory_order_acquire);
    in_flight += static_cast<std::size_t>(l.dispatched - std::min(finished, l.dispatched));
    if (lanes_.size() == 1) {
      if (last >= 0)
        commit_next_ = std::max(commit_next_, last + 1);
      continue;
    }
    while (!l.offsets.empty() && l.offsets.front() <= last)
      l.offsets.pop_front();
    if (!l.offsets.empty())
      lowest_open = std::min(lowest_open, l.offsets.front());
  }
  in_flight_ = in_flight;
  if (lanes_.size() > 1) {
    // While the first record dispatched is still open, no prefix is done: nothing to
    // commit yet.
    if (lowest_open != std::numeric_limits<std::int64_t>::max()) {
      if (lowest_open > first_dispatched_)
        commit_next_ = std::max(commit_next_, lowest_open);
    } else if (last_dispatched_ >= 0) {
      commit_next_ = std::max(commit_next_, last_dispatched_ + 1);
    }
  }
}

bool partition_state::drained() const {
  for (auto& l : lanes_)
    if (l.channel->finished.load(std::memory_order_acquire) < l.dispatched ||
        l.channel->last.load(std::memory_order_acquire) < l.last_dispatched)
      return false;
  return true;
}

} // namespace phoenix::kafka
