#pragma once

#include "phoenix/runtime/envelope.hpp"
#include "phoenix/runtime/error.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phoenix::persistence {
class trace_log;
} // namespace phoenix::persistence

namespace phoenix::kafka {

struct producer_config {
  /// librdkafka properties (`[kafka]` of the node config). Phoenix sets
  /// `enable.idempotence=true` unless it is given; an explicit `false` is honoured with
  /// a warning, since retries may then duplicate or reorder records.
  std::map<std::string, std::string> properties;
  std::string origin = "<config>"; ///< Names the config source in error messages.
  /// Makes the producer transactional (librdkafka's `transactional.id`); see the
  /// transaction messages below. A `transactional.id` in `properties` is taken as this.
  std::optional<std::string> transactional_id;
  /// Bound on the flush at shutdown, and on each blocking transactional call
  /// (init, send offsets, commit, abort).
  std::chrono::milliseconds flush_timeout{10000};
  /// Where deliveries of records with a `cause` are written ("produced" rows, keyed by
  /// the cause, with the record's topic, partition, offset and `ce_id`). Null: none.
  std::shared_ptr<persistence::trace_log> trace;
};

/// A record to produce. Key, value and header values are bytes, sent as given (an
/// empty key or value is empty, not null, unless `null_key` / `null_value` says so).
struct outgoing_record {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<runtime::header> headers;
  /// Unset: librdkafka's partitioner picks one from the key.
  std::optional<std::int32_t> partition;
  /// Sent as the `traceparent` header unless `headers` has one. Starts as the context of
  /// the span open on the thread that makes the record (`runtime::trace_scope`), so a
  /// record produced while handling another continues its trace.
  std::optional<runtime::trace_context> trace = runtime::current_trace();
  /// The message this record is produced for (`runtime::cause_scope`); with
  /// `producer_config::trace`, its delivery is written into that message's journey.
  std::string cause{runtime::current_cause()};
  /// Sent as a null key (no key: the partitioner's choice) / a null value (a tombstone),
  /// not as empty ones: a record moved to a retry topic or the DLQ keeps what it had.
  bool null_key = false;
  bool null_value = false;
};

/// Where the brokers stored a record.
struct delivery_report {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

/// A consumer group's position in one partition: `offset` is the next record to read
/// (Kafka's convention for committed offsets).
struct partition_offset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// A consumer's group metadata (group id, generation, member id), which a transactional
/// producer sends with the consumer's offsets so that the broker can fence a zombie
/// consumer. Opaque: made from a librdkafka consumer inside the actors module. Copies
/// share one immutable value.
class group_metadata {
public:
  /// Holds nothing; send_offsets_atom refuses it.
  group_metadata() = default;

  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

private:
  struct impl;
  friend struct group_metadata_access; // the factory, in the module's sources
  std::shared_ptr<const impl> impl_;
};

/// `(produce_atom, outgoing_record)` → `delivery_report` once the brokers acknowledged
/// the record, or an error (runtime::errc::kafka_error, see producer_child()).
using produce_atom = caf::atom_constant<caf::atom("produce")>;
/// `(begin_txn_atom)` → ok (an empty reply) or a transaction error.
using begin_txn_atom = caf::atom_constant<caf::atom("txn_begin")>;
/// `(send_offsets_atom, std::vector<partition_offset>, group_metadata)` → ok or a
/// transaction error: the consumer's offsets commit with the transaction.
using send_offsets_atom = caf::atom_constant<caf::atom("txn_offset")>;
/// `(commit_txn_atom)` → ok or a transaction error. Flushes first: every record of
/// the transaction has its delivery report when the commit is answered.
using commit_txn_atom = caf::atom_constant<caf::atom("txn_commit")>;
/// `(abort_txn_atom)` → ok or a transaction error. Records of the transaction still
/// queued are dropped; their requesters get an error.
using abort_txn_atom = caf::atom_constant<caf::atom("txn_abort")>;

/// CAF error category of the errors that answer transaction messages; the code is a
/// txn_errc, the context holds one string naming the call and librdkafka's reason.
inline constexpr caf::atom_value txn_error_category = caf::atom("phx_txn");

/// What a failed transaction call means for the caller (librdkafka's classification).
enum class txn_errc : std::uint8_t {
  retriable = 1, ///< Nothing changed; the same call may be made again (e.g. timed out).
  abortable,     ///< The transaction must be aborted (abort_txn_atom), then begun anew.
  fatal,         ///< The producer is unusable (e.g. fenced); it stops with an error and its
                 ///< supervisor starts a new one.
  refused,       ///< Not valid now (not transactional, no transaction begun, ...); the
                 ///< transaction's state is unchanged.
};

const char* to_string(txn_errc code) noexcept;

/// The txn_errc of a transaction error; nullopt for any other error.
std::optional<txn_errc> txn_error_code(const caf::error& err);

/// A supervised child running a librdkafka producer in a detached actor.
///
/// The start function creates the producer (and, with a transactional id, initialises
/// transactions) before spawning the actor, so a bad configuration fails the start.
/// The actor answers every request it takes: a record's requester gets its delivery
/// report or an error with librdkafka's reason ("delivery to orders failed: Local:
/// Message timed out"). On an exit request it stops taking records (they are refused),
/// flushes within `flush_timeout`, aborts an open transaction, answers every record
/// still pending with "not delivered before shutdown", and exits. After a fatal
/// librdkafka error (e.g. a fenced transactional id) it answers everything pending and
/// exits with the error, so that its supervisor restarts it. Its shutdown timeout is
/// `flush_timeout` plus 5 s.
///
/// In transactional mode a record is produced only inside a transaction, and a
/// delivery report means written, not committed: it is visible to `read_committed`
/// consumers once commit_txn_atom succeeded.
///
/// Errors (from the start function): errc::config_* naming `<origin>: [kafka] <key>`
/// for a property librdkafka rejects; errc::kafka_error when the producer cannot be
/// created or its transactions initialised.
runtime::child_spec producer_child(std::string id, producer_config cfg);

/// Sends `record` to `producer` and waits for the answer, at most `timeout`; for
/// tools and tests outside actors.
/// Errors: errc::kafka_error with the producer's reason, or "no answer within ..."
/// after the timeout, or "producer unavailable" when it is not running.
result<delivery_report> produce_sync(caf::actor_system& sys, const caf::actor& producer,
                                     outgoing_record record,
                                     std::chrono::milliseconds timeout);

} // namespace phoenix::kafka

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::kafka::outgoing_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::kafka::delivery_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(phoenix::kafka::group_metadata)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<phoenix::kafka::partition_offset>)
