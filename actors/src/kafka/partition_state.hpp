#pragma once

// What the group consumer knows about one assigned partition: its lanes, the records
// each lane has not finished, the commit watermark and the in-flight bound. Plain data
// and bookkeeping, no actor code, so the rules can be read (and tested) in one place.

#include "kafka/lane_worker.hpp"
#include "kafka/offset_tracker.hpp"

#include <algorithm>
#include <caf/actor.hpp>
#include <deque>
#include <vector>

namespace phoenix::kafka {

struct lane_slot {
  caf::actor worker;
  lane_progress progress = std::make_shared<lane_control>();
  std::deque<lane_batch_ptr> pending; // sent to the lane, not all done; oldest first
  std::size_t front_done = 0;         // records of pending.front() already done
  std::int64_t crash_offset = -1;     // record the lane last crashed on
  int crashes = 0;                    // crashes in a row on that record

  /// The offset of the lane's oldest unfinished record, or -1.
  std::int64_t next_offset() const;
  /// The offset of the lane's newest dispatched record, or -1.
  std::int64_t last_offset() const;
};

class partition_state {
public:
  partition_state(std::size_t lanes, std::size_t bound);

  std::vector<lane_slot>& lanes() noexcept { return lanes_; }

  /// The lane a key belongs to: records of one key always share a lane.
  std::size_t lane_of(const std::string& key) const;

  /// Room left below the in-flight bound.
  std::size_t room() const noexcept {
    return in_flight_ < bound_ ? bound_ - in_flight_ : 0;
  }
  std::size_t in_flight() const noexcept { return in_flight_; }
  std::size_t bound() const noexcept { return bound_; }

  /// Registers records about to be sent to a lane, as one batch.
  void dispatched(std::size_t lane, lane_batch_ptr batch);

  /// Every record of `lane` up to `last` is done: they leave the lane's pending list and
  /// the commit watermark moves as far as the contiguous rule allows.
  void done(std::size_t lane, std::int64_t last);

  /// Applies each lane's published progress (after a crash, or when draining).
  void apply_progress();

  /// True when every lane has finished every record it was sent.
  bool drained() const;

  /// The commit watermark (the next record to read) when it moved past what was last
  /// handed to librdkafka's offset store, else -1; the call counts it as handed over.
  std::int64_t take_store() noexcept {
    if (commit_next_ <= stored_)
      return -1;
    stored_ = commit_next_;
    return stored_;
  }

  /// The watermark when the broker has not confirmed it yet, else -1.
  std::int64_t commit_due() const noexcept {
    return commit_next_ > committed_ ? commit_next_ : -1;
  }

  /// The broker stored `offset` for this partition.
  void committed(std::int64_t offset) noexcept {
    committed_ = std::max(committed_, offset);
  }

  std::deque<consumed_record> held; // polled while at the bound; sent when room comes
  bool paused = false;
  std::shared_ptr<partition_stats> stats; // this partition's counters, for the metrics

private:
  std::vector<lane_slot> lanes_;
  std::size_t bound_;
  std::size_t in_flight_ = 0;
  offset_tracker tracker_;        // used with more than one lane
  std::int64_t commit_next_ = -1; // the contiguous watermark
  std::int64_t stored_ = -1;      // handed to librdkafka's offset store
  std::int64_t committed_ = -1;   // confirmed by the broker
};

} // namespace phoenix::kafka
