#pragma once

// What the group consumer knows about one assigned partition: its lanes and their
// channels, what was dispatched to each, the commit watermark and the in-flight bound.
// Only offsets and counts: the records themselves sit in the lanes' channels (or in
// `held` while the partition is at its bound). No actor code, so the rules can be read
// (and tested) in one place.

#include "kafka/lane_channel.hpp"
#include "phoenix/actors/kafka/record.hpp"

#include <algorithm>
#include <caf/actor.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

namespace phoenix::kafka {

struct lane_slot {
  caf::actor worker;
  std::shared_ptr<lane_channel> channel;
  std::uint64_t dispatched = 0;      // records pushed to the channel
  std::deque<std::int64_t> offsets;  // with several lanes: dispatched, not yet finished
  lane_batch outgoing;               // being filled during a poll round
  std::int64_t last_dispatched = -1; // newest offset pushed to the channel
};

class partition_state {
public:
  /// `keep_alive` is passed to every lane channel (see lane_channel).
  partition_state(std::uint64_t id, std::size_t lanes, std::size_t bound,
                  const std::shared_ptr<void>& keep_alive = nullptr);

  std::uint64_t id() const noexcept { return id_; }
  std::vector<lane_slot>& lanes() noexcept { return lanes_; }

  /// The lane a key belongs to: records of one key always share a lane.
  std::size_t lane_of(std::string_view key) const noexcept;

  /// Room left below the in-flight bound.
  std::size_t room() const noexcept {
    return in_flight_ < bound_ ? bound_ - in_flight_ : 0;
  }
  std::size_t in_flight() const noexcept { return in_flight_; }
  std::size_t bound() const noexcept { return bound_; }

  /// Highest offset taken in (dispatched or held), or -1.
  std::int64_t last_taken() const noexcept { return last_taken_; }
  void taken(std::int64_t offset) noexcept { last_taken_ = offset; }

  /// Counts one record added to `lane`'s outgoing batch as dispatched.
  void dispatched(std::size_t lane, std::int64_t offset) {
    auto& l = lanes_[lane];
    ++l.dispatched;
    l.last_dispatched = offset;
    ++in_flight_;
    last_dispatched_ = offset;
    if (first_dispatched_ < 0)
      first_dispatched_ = offset;
    if (lanes_.size() > 1)
      l.offsets.push_back(offset);
  }

  /// Reads the lanes' progress from their channels: the in-flight count, and the commit
  /// watermark as far as the contiguous rule allows (the lowest record some lane has not
  /// finished; everything dispatched below it is done).
  void refresh();

  /// True when every lane has finished every record it was sent and made it
  /// committable (reads the channels; with an idempotent consumer a record is committable
  /// once its completion is durable).
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

  std::deque<rd::message_ptr> held; // polled while at the bound; dispatched when room comes
  /// At its bound: detached from the consumer queue (consumer_flow.cpp), resumed when
  /// drained.
  bool paused = false;
  /// Also paused at librdkafka, because what it fetched for the partition while
  /// detached passed the bound.
  bool fetch_paused = false;
  /// Paused because the breaker of its handler's downstream is open
  /// (consumer_breakers.cpp).
  bool breaker_paused = false;
  std::shared_ptr<partition_stats> stats; // this partition's counters, for the metrics

private:
  std::uint64_t id_;
  std::vector<lane_slot> lanes_;
  std::size_t bound_;
  std::size_t in_flight_ = 0;
  std::int64_t last_taken_ = -1;
  std::int64_t first_dispatched_ = -1;
  std::int64_t last_dispatched_ = -1;
  std::int64_t commit_next_ = -1; // the contiguous watermark
  std::int64_t stored_ = -1;      // handed to librdkafka's offset store
  std::int64_t committed_ = -1;   // confirmed by the broker
};

} // namespace phoenix::kafka
