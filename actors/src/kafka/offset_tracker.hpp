#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace phoenix::kafka {

/// The commit rule of one partition: records are dispatched in offset order and may
/// finish in any order (per-key concurrency); the committable offset only moves past a
/// record once it and every record dispatched before it are done.
class offset_tracker {
public:
  /// Registers a dispatched record. Offsets must increase (gaps are fine: compaction,
  /// transaction markers).
  void dispatched(std::int64_t offset);

  /// Marks a dispatched record done; unknown or repeated offsets are ignored.
  void done(std::int64_t offset);

  /// The offset to commit (one past the contiguous done prefix), or -1 before anything
  /// was done.
  std::int64_t committable() const noexcept { return commit_next_; }

  /// Dispatched records not yet done.
  std::size_t in_flight() const noexcept { return window_.size() - done_in_window_; }

  /// Highest offset dispatched, or -1.
  std::int64_t last_dispatched() const noexcept {
    return window_.empty() ? last_popped_ : window_.back().offset;
  }

private:
  struct slot {
    std::int64_t offset;
    bool done;
  };
  std::deque<slot> window_; // dispatched, from the oldest not-done record on
  std::size_t done_in_window_ = 0;
  std::int64_t commit_next_ = -1;
  std::int64_t last_popped_ = -1;
};

} // namespace phoenix::kafka
