#include "kafka/offset_tracker.hpp"

#include <algorithm>

namespace phoenix::kafka {

void offset_tracker::dispatched(std::int64_t offset) {
  if (offset <= last_dispatched())
    return; // already known; offsets only grow
  window_.push_back({offset, false});
}

void offset_tracker::done(std::int64_t offset) {
  auto it = std::lower_bound(window_.begin(), window_.end(), offset,
                             [](const slot& s, std::int64_t o) { return s.offset < o; });
  if (it == window_.end() || it->offset != offset || it->done)
    return;
  it->done = true;
  ++done_in_window_;
  while (!window_.empty() && window_.front().done) {
    commit_next_ = window_.front().offset + 1;
    last_popped_ = window_.front().offset;
    window_.pop_front();
    --done_in_window_;
  }
}

} // namespace phoenix::kafka
