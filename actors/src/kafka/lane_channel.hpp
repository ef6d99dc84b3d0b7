#pragma once

// What a lane and the group consumer share without messages: the lane's inbox of
// records, as librdkafka returned them, and its progress. The channel outlives a
// crashed lane, so the lane's successor resumes with the records still there, at the
// first one not finished.

#include "kafka/rdkafka.hpp"
#include "phoenix/persistence/types.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace phoenix::kafka {

/// Records of one lane of one partition, in offset order, unparsed. The lane reads them in
/// place and destroys them when the batch is finished, so their parsing and destruction
/// never run on the consumer's thread.
struct lane_batch {
  std::vector<rd::message_ptr> records;
};

class lane_channel {
public:
  /// `keep_alive` is held until the inbox is gone: librdkafka's handle (whose destruction
  /// waits for every message of it to be destroyed).
  explicit lane_channel(std::shared_ptr<void> keep_alive = nullptr)
      : keep_alive_(std::move(keep_alive)) {}

  lane_channel(const lane_channel&) = delete;
  lane_channel& operator=(const lane_channel&) = delete;

  // -- consumer side ------------------------------------------------------------------

  void push(lane_batch batch);

  /// No further record may start. Drops the inbox now, or, while the lane is inside a
  /// batch (`lane_alive` and between acquire and finish/release), when it lets go.
  void cancel(bool lane_alive);

  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

  /// True once no record of the inbox is left or referenced.
  bool released() const;

  // -- lane side ----------------------------------------------------------------------

  /// The oldest batch not yet finished, now in use by the lane; null when there is none
  /// or the channel is cancelled. Stays valid while the consumer pushes.
  const lane_batch* acquire();

  /// The batch from acquire() is done: it leaves the inbox and is destroyed here.
  void finish();

  /// Stops using the batch from acquire() without finishing it (an actor handler's
  /// answer is awaited, or the channel was cancelled, which drops the inbox).
  void release();

  /// Offset of the last record finished; written by the lane (or by the consumer while
  /// no lane runs), read by the consumer for the commit watermark.
  std::atomic<std::int64_t> last{-1};
  /// Records finished, for the in-flight count. Written by one thread at a time (the
  /// lane, or the consumer while no lane runs), through add_finished().
  std::atomic<std::uint64_t> finished{0};
  /// One more record finished. A load and a store, not a locked read-modify-write: there
  /// is one writer at a time, and the next one starts after the last one stopped.
  void add_finished() noexcept {
    finished.store(finished.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  /// The record the lane is working on, for counting crashes per record.
  std::atomic<std::int64_t> current{-1};
  /// Crashes of lanes on one record, noted by the consumer while the lane is down and
  /// read by its successor, which counts them as attempts.
  struct crash_note {
    std::int64_t offset = -1;
    int count = 0;
    std::string reason; ///< Of the last crash.
  };

  /// Notes a crash on `offset`; returns the crashes in a row on it.
  int note_crash(std::int64_t offset, std::string reason);

  /// The crashes noted on `offset` (count 0: none). Cheap when there are none.
  crash_note crashes_at(std::int64_t offset) const;

  /// Offset of the last record handled, when that runs ahead of `last`: an idempotent
  /// consumer's record is handled (and counted in `finished`) at once, but committable
  /// (`last`) only once its completion is durable. A restarted lane skips up to both.
  std::atomic<std::int64_t> handled{-1};

  // -- idempotent consumer (kafka/idempotency.hpp) --------------------------------------

  /// What a crashed lane's gate had not made durable yet: its completions and releases,
  /// and the offsets they make committable, in order. The crashing lane leaves them here;
  /// its successor's gate takes them and sends them first. Only lanes touch it, one after
  /// the other (the consumer starts the next lane after the crashed one is down).
  struct unsent_work {
    std::vector<persistence::store_op> ops;
    std::vector<std::int64_t> finished;
  };
  unsent_work unsent;

  /// Set by the gate of an idempotent lane: a record is committable only once its key's
  /// completion or release is durable, which the gate decides, not the consumer.
  std::atomic<bool> gated{false};
  /// A record the consumer gave up (it crashed its lane too often), whose key the next
  /// lane's gate releases before it becomes committable; -1: none.
  std::atomic<std::int64_t> given_up{-1};

  /// The consumer gives up the record at `offset` while no lane runs: it counts as
  /// finished; without a gate it is committable at once, with one once its key is released.
  void give_up(std::int64_t offset);

private:
  mutable std::mutex mtx_;
  std::shared_ptr<void> keep_alive_; // declared before the inbox: destroyed after it
  std::deque<lane_batch> inbox_;
  bool busy_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<std::int64_t> crash_offset_{-1};
  crash_note crash_; // guarded by mtx_
};

} // namespace phoenix::kafka
