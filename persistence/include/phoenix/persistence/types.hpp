#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace phoenix::persistence {

/// Wall-clock time as the store keeps it (microseconds since the epoch in the tables).
/// Callers pass it in explicitly so tests control it.
using time_point = std::chrono::system_clock::time_point;

/// The key under which one message's effects are made once (DESIGN.md §5).
struct idempotency_key {
  std::string value;
  friend bool operator==(const idempotency_key& a, const idempotency_key& b) {
    return a.value == b.value;
  }
  friend bool operator<(const idempotency_key& a, const idempotency_key& b) {
    return a.value < b.value;
  }
};

struct saga_id {
  std::string value;
  friend bool operator==(const saga_id& a, const saga_id& b) { return a.value == b.value; }
};

enum class key_state { absent, claimed, completed };

/// What a claim found. Only `claimed` lets the caller run the effect.
enum class claim_outcome {
  claimed,     ///< This claim won: run the effect, then complete (or release) the key.
  in_progress, ///< Another claim holds the key and its lease has not expired.
  completed,   ///< The effect was already made: skip it.
};

const char* to_string(claim_outcome x) noexcept;
const char* to_string(key_state x) noexcept;

struct key_record {
  key_state state = key_state::absent;
  time_point claimed_at;
  time_point lease_until;
  time_point completed_at; ///< Epoch while not completed.
};

/// Where a message went and what happened to it, for tracing a message's journey.
struct trace_record {
  idempotency_key key;
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string stage; ///< e.g. "claimed", "handled", "dlq".
  std::string node;
  std::string detail;
  time_point at; ///< Left at the epoch, the batch's `now` is used.
};

/// The status of a finished saga that retention keeps: a compensation that kept failing
/// needs a person (sagas' `saga_status::compensation_failed` is stored as this).
inline constexpr const char* saga_status_kept = "compensation_failed";

/// The persisted state machine of one saga instance.
struct saga_record {
  saga_id id;
  std::string type;
  std::string topic; ///< With `partition`: where the saga's events arrive, for recovery.
  std::int32_t partition = -1;
  std::string status;
  bool finished = false;
  std::int64_t version = 0; ///< Incremented by every write; 0 means "never written".
  std::string data;         ///< Opaque bytes (any content, including NUL).
  time_point updated_at;
};

/// A command a saga sends, kept in the outbox until the relay has published it.
struct outbox_message {
  std::string topic;
  std::string key;
  std::string payload; ///< Opaque bytes.
  std::string headers; ///< Opaque, encoded by the caller.
};

/// A partition on which sagas' events arrive (a saga's `topic` and `partition`): the
/// node its consumer group assigns it to owns those sagas, and publishes their outbox.
struct saga_partition {
  std::string topic;
  std::int32_t partition = -1; ///< -1: a saga that arrived on no partition.
  friend bool operator==(const saga_partition& a, const saga_partition& b) {
    return a.partition == b.partition && a.topic == b.topic;
  }
  friend bool operator<(const saga_partition& a, const saga_partition& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  }
};

struct outbox_record {
  std::int64_t id = 0; ///< Assigned by the store, increasing.
  saga_id saga;
  outbox_message message;
  time_point created_at;
  /// The saga's partition when the row was written (from its saga_op's state).
  saga_partition owner;
};

/// Which pending outbox rows a relay reads.
struct outbox_scope {
  /// True: every row (a node alone on its store, or one that owns everything).
  bool all = true;
  /// With `all` false: the rows of sagas on these partitions, and the rows of sagas on
  /// no partition (-1), which no consumer group assigns and every relay therefore reads.
  std::vector<saga_partition> partitions;
  /// Only rows with a greater id: a relay reading ahead of the rows it has in flight
  /// (0: from the oldest pending row).
  std::int64_t after_id = 0;

  static outbox_scope everything() { return {}; }
  static outbox_scope owned(std::vector<saga_partition> ps) {
    return {false, std::move(ps), 0};
  }
  outbox_scope& after(std::int64_t id) {
    after_id = id;
    return *this;
  }
};

// -- writes: a request is a list of operations applied atomically -------------------

/// Takes the key if nobody holds it, if the holder's lease has expired (a claimer that
/// crashed before completing must not block the key forever), or if the holder is this
/// claim's non-empty `owner`: a claimer that restarts under the same identity (the
/// partition pipeline uses its consumer group, partition and lane) takes its own
/// unfinished keys back at once instead of waiting out the lease.
struct claim_op {
  idempotency_key key;
  std::chrono::milliseconds lease{std::chrono::minutes{5}};
  std::string owner{}; ///< Empty: anonymous, only an expired lease can be taken over.
};
/// Marks the key done (claimed or not); completing twice keeps the first time.
struct complete_op {
  idempotency_key key;
};
/// Gives a claimed, not completed key back so a retry can claim it.
struct release_op {
  idempotency_key key;
};
struct trace_op {
  trace_record row;
};
/// Writes a saga's state if its stored version is `expected_version` (0: must not
/// exist yet), together with its outgoing commands. Stored version becomes expected+1.
struct saga_op {
  saga_record state;
  std::int64_t expected_version = 0;
  std::vector<outbox_message> outbox;
};
/// Marks an outbox row published (by the outbox relay).
struct publish_op {
  std::int64_t outbox_id = 0;
};

using store_op =
    std::variant<claim_op, complete_op, release_op, trace_op, saga_op, publish_op>;

/// One requester's unit of work. Its operations apply all or nothing, in order; within
/// a batch, requests apply as if one after another in batch order.
struct store_request {
  std::vector<store_op> ops;

  static store_request claim(idempotency_key key,
                             std::chrono::milliseconds lease = std::chrono::minutes{5},
                             std::string owner = {});
  static store_request complete(idempotency_key key);
};

/// What one request got back.
struct reply {
  std::vector<claim_outcome> claims;       ///< One per claim_op, in order.
  std::vector<std::int64_t> saga_versions; ///< Stored version per saga_op, in order.
};

struct purge_counts {
  std::uint64_t keys = 0;
  std::uint64_t traces = 0;
  std::uint64_t sagas = 0; ///< Finished sagas (their state rows) last written before.
};

/// Counters of one store object (one connection), for tests and metrics.
struct store_stats {
  std::uint64_t transactions = 0;   ///< Committed write transactions (one per batch).
  std::uint64_t requests = 0;       ///< Requests in those transactions.
  std::uint64_t failed_batches = 0; ///< Batches that rolled back as a whole.
  std::uint64_t reconnects = 0;     ///< Successful reopen/reconnects after a failure.
  /// Statements sent to a database server by `apply` (PostgreSQL; SQLite, which runs
  /// in-process, has no round trips and reports 0).
  std::uint64_t round_trips = 0;
};

} // namespace phoenix::persistence
