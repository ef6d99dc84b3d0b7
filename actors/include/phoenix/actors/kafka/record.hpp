#pragma once

#include "phoenix/observability/duration_histogram.hpp"
#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/envelope_view.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace phoenix::kafka {

/// One partition of one topic.
struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;

  friend bool operator<(const topic_partition& a, const topic_partition& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  }
  friend bool operator==(const topic_partition& a, const topic_partition& b) {
    return a.topic == b.topic && a.partition == b.partition;
  }
};

std::string to_string(const topic_partition& tp);

/// Where a record sits in Kafka (owning: for messages and for keeping).
struct record_position {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// The record a function handler is called for, read in place: valid during the call.
struct record_view {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string_view key; ///< Empty for a record without a key.

  record_position position() const { return {std::string(topic), partition, offset}; }
};

/// What a handler made of a record.
enum class handler_status {
  done,     ///< Effects applied; the offset may be committed.
  retry,    ///< Transient failure; try the record again.
  rejected, ///< Permanent failure; the record will not succeed as it is.
};

/// Application code for one topic. Runs in the partition's actor (its lane): records of
/// one key arrive in offset order, one at a time. The envelope and the record are read in
/// place from the consumed record and valid only during the call; copy what you keep
/// (`envelope_view::to_envelope()`, `record_view::position()`). An exception counts as a
/// crash: the lane is restarted and the record handed over again.
using record_handler =
    std::function<handler_status(const runtime::envelope_view&, const record_view&)>;

/// Sent to an actor handler for every record: `(handle_atom, envelope, record_position)`,
/// both owning copies; the actor replies with a `handler_status`.
using handle_atom = caf::atom_constant<caf::atom("handle")>;

/// What runs for each record of a topic: a function, called in the partition's actor,
/// or an actor of the application's that replies to `handle_atom` messages. Records of
/// one key reach the handler one at a time, in offset order.
class handler {
public:
  /// A function handler: anything callable as `record_handler`.
  template <class F,
            class = std::enable_if_t<std::is_invocable_r_v<
                handler_status, F&, const runtime::envelope_view&, const record_view&>>>
  handler(F fn) : fn_(std::move(fn)) {} // NOLINT: implicit on purpose

  /// An actor handler; no reply within `timeout` counts like a crash of the record.
  static handler from_actor(caf::actor actor, std::chrono::milliseconds timeout) {
    handler h{record_handler{}};
    h.actor_ = std::move(actor);
    h.timeout_ = timeout;
    return h;
  }

  /// The same handler, calling the downstream `name` (a CRM, a payment service): its
  /// circuit breaker (`[breaker."<name>"]`) admits the calls, and a `retry` answer counts
  /// as a failure of that downstream. Handlers of several topics may share one.
  handler downstream(std::string name) const {
    handler h = *this;
    h.downstream_ = std::move(name);
    return h;
  }

  const record_handler& function() const noexcept { return fn_; }
  /// Empty: the handler names no downstream (no breaker).
  const std::string& downstream_name() const noexcept { return downstream_; }
  const caf::actor& actor() const noexcept { return actor_; }
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

private:
  record_handler fn_;
  caf::actor actor_;
  std::chrono::milliseconds timeout_{0};
  std::string downstream_;
};

/// Counters of one partition as a group consumer sees it, readable from any thread. The
/// consumer and its lanes update them; the metrics probe reads them when scraped.
struct partition_stats {
  std::atomic<std::uint64_t> consumed{0};    ///< Records taken from Kafka.
  std::atomic<std::uint64_t> handled{0};     ///< Records the handler finished as done.
  std::atomic<std::uint64_t> rejected{0};    ///< Rejected, or retried/crashed too often.
  std::atomic<std::uint64_t> retried{0};     ///< Attempts in place scheduled (backoff).
  std::atomic<std::uint64_t> undecodable{0}; ///< Records that are no valid envelope.
  std::atomic<std::uint64_t> failed_attempts{
      0}; ///< Handler calls not done, crashes included.
  std::atomic<std::uint64_t> retry_topic_records{0}; ///< Moved to a retry topic.
  std::atomic<std::uint64_t> dead_lettered{0};       ///< Moved to the DLQ.
  /// Skipped: their idempotency key was already complete.
  std::atomic<std::uint64_t> duplicates{0};
  /// Failed requests to move a record to a retry topic or the DLQ (sent again).
  std::atomic<std::uint64_t> produce_failures{0};
  /// Next offset to read as last committed; -1 before the first commit.
  std::atomic<std::int64_t> committed{-1};
  /// The offset after the partition's last record, as librdkafka last fetched it; -1
  /// while unknown. Lag is `high_watermark - committed`.
  std::atomic<std::int64_t> high_watermark{-1};
  /// Records sent to the partition's lanes (their mailboxes) and not done yet.
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<bool> assigned{false};
  observability::duration_histogram handling; ///< Handler time per record, all attempts.
};

/// The partitions a consumer has had, each with its counters, kept across revokes so
/// counters never go back. Lookups take a lock: done on assignment, not per record.
class partition_stats_table {
public:
  /// The counters of `tp`, made on first use; always the same object for one `tp`.
  std::shared_ptr<partition_stats> of(const topic_partition& tp) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& p = parts_[tp];
    if (!p)
      p = std::make_shared<partition_stats>();
    return p;
  }

  /// Calls `f(tp, stats)` for every partition, in order, under the table's lock.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [tp, p] : parts_)
      f(tp, static_cast<const partition_stats&>(*p));
  }

private:
  mutable std::mutex mtx_;
  std::map<topic_partition, std::shared_ptr<partition_stats>> parts_;
};

/// Counters of a group consumer, readable from any thread.
/// Retry and DLQ topics a consumer needs and does not have (`[policy] create_topics`),
/// each with the reason; a topic leaves it once a consumer created or found it. A
/// record that needs a missing one stays uncommitted. Thread-safe; read by `/ready`
/// (`add_topics_readiness_check`) and the metric `phoenix_policy_topics_missing`.
class missing_topics {
public:
  void add(const std::string& topic, std::string reason) {
    std::lock_guard<std::mutex> g{mtx_};
    topics_[topic] = std::move(reason);
  }
  void remove(const std::string& topic) {
    std::lock_guard<std::mutex> g{mtx_};
    topics_.erase(topic);
  }
  std::map<std::string, std::string> snapshot() const {
    std::lock_guard<std::mutex> g{mtx_};
    return topics_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g{mtx_};
    return topics_.size();
  }

private:
  mutable std::mutex mtx_;
  std::map<std::string, std::string> topics_;
};

struct consumer_stats {
  std::atomic<std::uint64_t> consumed{0};    ///< Records taken from Kafka.
  std::atomic<std::uint64_t> handled{0};     ///< Records the handler finished as done.
  std::atomic<std::uint64_t> undecodable{0}; ///< Records that are no valid envelope.
  std::atomic<std::uint64_t> rejected{0};    ///< Rejected, or retried/crashed too often.
  std::atomic<std::uint64_t> retried{0};     ///< Attempts in place scheduled (backoff).
  std::atomic<std::uint64_t> failed_attempts{
      0}; ///< Handler calls not done, crashes included.
  std::atomic<std::uint64_t> retry_topic_records{0}; ///< Moved to a retry topic.
  std::atomic<std::uint64_t> dead_lettered{0};       ///< Moved to the DLQ.
  /// Failed requests to move a record to a retry topic or the DLQ (sent again).
  std::atomic<std::uint64_t> produce_failures{0};
  std::atomic<std::uint64_t> restarts{0}; ///< Partition actors restarted after a crash.
  std::atomic<std::uint64_t> commits{0};  ///< Offset commits the broker confirmed.
  /// Commits on revoke or stop that failed (e.g. the group was rebalancing again): the
  /// records they covered are handled again by the partitions' next owners.
  std::atomic<std::uint64_t> handover_commit_failures{0};
  std::atomic<std::uint64_t> pauses{0};  ///< Partitions paused at their in-flight bound.
  std::atomic<std::uint64_t> resumes{0}; ///< Partitions resumed once drained.
  /// Pauses at librdkafka, of partitions at their bound for which librdkafka had fetched
  /// more than the bound again (dropped by librdkafka and fetched again on resume).
  std::atomic<std::uint64_t> fetch_pauses{0};
  /// Partitions paused now because the breaker of their handler's downstream is open.
  std::atomic<std::int64_t> breaker_paused{0};
  std::atomic<std::uint64_t> max_in_flight{0}; ///< Most records in flight in one partition.
  /// Commits that failed, of librdkafka's commit timer (sent again with the next) and
  /// on revoke or stop.
  std::atomic<std::uint64_t> commit_failures{0};
  /// From the commit request to the broker's answer, of the synchronous commits (revoke,
  /// stop); librdkafka's timer sends the others and does not say when it started.
  observability::duration_histogram commit_latency;
  partition_stats_table partitions;
  /// Idempotent consumer: records skipped because their key was already complete
  /// (duplicates; after a lane crash also the records it finished just before).
  std::atomic<std::uint64_t> duplicates{0};
  /// Idempotent consumer: store requests that failed and were retried.
  std::atomic<std::uint64_t> store_retries{0};
  /// Idempotent consumer: lanes waiting for the store now (their partitions' commits
  /// are held back until it answers).
  std::atomic<std::int64_t> store_waiting{0};
  /// Retry and DLQ topics its policies need that it could not create or find.
  missing_topics policy_topics;
};

} // namespace phoenix::kafka

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::runtime::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::kafka::record_position)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::kafka::handler_status)
