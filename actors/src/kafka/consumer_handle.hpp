#pragma once

// The librdkafka consumer behind a group consumer actor: creation with Phoenix's
// defaults, the rebalance callback, poll, pause/resume and commits. Used only from the
// actor's own thread (librdkafka calls the rebalance callback inside poll).

#include "kafka/rdkafka.hpp"
#include "phoenix/actors/kafka/record.hpp"
#include "phoenix/runtime/error.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace phoenix::kafka {

/// Told about assignment changes, from inside `consumer_handle::poll` or `close`.
class rebalance_listener {
public:
  virtual ~rebalance_listener() = default;
  virtual void on_assigned(const std::vector<topic_partition>& tps) = 0;
  /// `lost`: the partitions were taken away (session lost); do not commit for them.
  virtual void on_revoked(const std::vector<topic_partition>& tps, bool lost) = 0;
  /// Offsets the broker stored (the next record to read per partition), from a commit's
  /// result; served inside `poll`.
  virtual void
  on_committed(const std::vector<std::pair<topic_partition, std::int64_t>>&) = 0;
  /// A commit of librdkafka's timer failed (sent again with the next); inside `poll`.
  virtual void on_commit_failed() {}
};

class consumer_handle {
public:
  /// Creates the consumer and subscribes to `topics`. Offsets reach the broker only
  /// through `store` (committed by librdkafka's timer every `commit_interval`, which
  /// skips while the group rebalances) and `commit`.
  /// Errors: config_bad_value / config_unknown_key naming `<origin>: [kafka] <key>`
  /// (also for a missing group.id), kafka_error when creation or subscription fails.
  static result<std::unique_ptr<consumer_handle>>
  open(std::map<std::string, std::string> properties, const std::string& origin,
       const std::vector<std::string>& topics, std::chrono::milliseconds commit_interval);

  ~consumer_handle();

  void set_listener(rebalance_listener* l) { listener_ = l; }

  /// Replaces `out` with up to `max` records, waiting up to `timeout_ms` for the first
  /// and taking what else is already there without waiting. The caller owns each (wrap
  /// it in an `rd::message_ptr`). Consumer errors are logged and not returned.
  void poll(std::vector<rd_kafka_message_t*>& out, std::size_t max, int timeout_ms);

  /// Pauses (or resumes) fetching one partition. librdkafka drops what it had prefetched
  /// for it and fetches again from the next record not yet returned by poll.
  result<void> pause(const topic_partition& tp, bool paused);

  /// Stops handing out what librdkafka fetches for an assigned partition, without a
  /// pause: fetched records stay in the partition's own queue (where librdkafka's
  /// `queued.min.messages` and `queued.max.messages.kbytes` apply to that partition
  /// alone) instead of the consumer's. What the consumer queue already holds of it is
  /// still polled. Fails only when librdkafka does not know the partition.
  result<void> detach(const topic_partition& tp);

  /// Hands out a detached partition's records again: its queue is appended to the
  /// consumer queue, behind what that holds of it, so poll keeps the offset order.
  void attach(const topic_partition& tp);

  /// What waits in the own queue of a detached partition: its records, and now and then
  /// one of librdkafka's events for it (0 if it is attached).
  std::size_t detached_records(const topic_partition& tp) const;

  /// Marks `offset` (the next record to read) as done for its partition; librdkafka's
  /// commit timer sends it. Failures (a partition no longer assigned) are logged.
  void store(const topic_partition& tp, std::int64_t offset);

  struct commit_status {
    bool ok = true;
    bool rebalancing =
        false;           ///< Refused because the group rebalances; try once it settled.
    std::string message; ///< What failed, with librdkafka's reason.
  };

  /// Commits `offset` per partition now, retrying while the coordinator moves until
  /// `retry_for` has passed. Fails at once while the group rebalances.
  commit_status commit(const std::vector<std::pair<topic_partition, std::int64_t>>& offsets,
                       std::chrono::milliseconds retry_for);

  /// The offset after the last record of `tp` as librdkafka last fetched it, or -1 while
  /// unknown. No request to the broker.
  std::int64_t high_watermark(const topic_partition& tp) const;

  /// Leaves the group (revoking through the listener) and closes the consumer. The
  /// handle itself is destroyed with this object, which librdkafka lets happen only once
  /// every record it returned is destroyed: hold the handle (a shared_ptr) as long as
  /// records of it live.
  void close();

  struct impl;

private:
  explicit consumer_handle(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  rebalance_listener* listener_ = nullptr;
  friend struct consumer_handle_access;
};

} // namespace phoenix::kafka
