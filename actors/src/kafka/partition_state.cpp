#include "kafka/partition_state.hpp"

#include <functional>

namespace phoenix::kafka {

std::int64_t lane_slot::next_offset() const {
  return pending.empty() ? -1 : pending.front()->records[front_done].pos.offset;
}

std::int64_t lane_slot::last_offset() const {
  return pending.empty() ? -1 : pending.back()->records.back().pos.offset;
}

partition_state::partition_state(std::size_t lanes, std::size_t bound)
    : lanes_(lanes == 0 ? 1 : lanes), bound_(bound == 0 ? 1 : bound) {}

std::size_t partition_state::lane_of(const std::string& key) const {
  return lanes_.size() == 1 ? 0 : std::hash<std::string>{}(key) % lanes_.size();
}

void partition_state::dispatched(std::size_t lane, lane_batch_ptr batch) {
  in_flight_ += batch->records.size();
  if (lanes_.size() > 1)
    for (auto& r : batch->records)
      tracker_.dispatched(r.pos.offset);
  lanes_[lane].pending.push_back(std::move(batch));
}

void partition_state::done(std::size_t lane, std::int64_t last) {
  auto& l = lanes_[lane];
  bool single = lanes_.size() == 1;
  while (!l.pending.empty()) {
    auto& records = l.pending.front()->records;
    auto offset = records[l.front_done].pos.offset;
    if (offset > last)
      break;
    if (!single)
      tracker_.done(offset);
    --in_flight_;
    if (++l.front_done == records.size()) {
      l.pending.pop_front();
      l.front_done = 0;
    }
  }
  if (single)
    commit_next_ = std::max(commit_next_, last + 1);
  else
    commit_next_ = tracker_.committable();
}

void partition_state::apply_progress() {
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    auto p = lanes_[i].progress->last.load(std::memory_order_acquire);
    if (p >= 0)
      done(i, p);
  }
}

bool partition_state::drained() const {
  for (auto& l : lanes_)
    if (!l.pending.empty() &&
        l.progress->last.load(std::memory_order_acquire) < l.last_offset())
      return false;
  return true;
}

} // namespace phoenix::kafka
