#pragma once

#include "phoenix/persistence/store_link.hpp"
#include "phoenix/persistence/types.hpp"
#include "phoenix/runtime/supervisor.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace phoenix::observability {
class metrics_registry;
}

namespace phoenix::persistence {

/// The journeys of messages on their way to `message_traceability` (DESIGN §5): what the
/// pipeline did with each record (received, handled, retried, dead-lettered, ...), in
/// rows keyed by the message's id, which `phoenix trace <id>` prints in order.
///
/// Writers (partition lanes, policies, saga coordinators) hand in rows a batch at a time;
/// `submit` only moves them into a queue under a lock, never waits for the database. The
/// trace writer (`trace_writer_child`) takes them out and writes them with the store's
/// group commit. Traceability is diagnostics, not effects: when the store is down the
/// queue holds up to `max_pending` rows and then drops the oldest, counting them. Thread-
/// safe; share it with `std::shared_ptr`.
class trace_log {
public:
  /// `node` is written into every row that has none.
  explicit trace_log(std::string node, std::size_t max_pending = 100'000);

  /// Queues `rows`.
  void submit(std::vector<trace_record> rows);

  /// Takes up to `max` of the oldest queued rows (the writer).
  std::vector<trace_record> take(std::size_t max);

  /// Puts rows the writer could not write back in front, so they go first next time
  /// (what no longer fits under `max_pending` is dropped and counted).
  void put_back(std::vector<trace_record> rows);

  const std::string& node() const noexcept { return node_; }

  std::atomic<std::uint64_t> written{0};       ///< Rows the store committed.
  std::atomic<std::uint64_t> dropped{0};       ///< Rows dropped over `max_pending`.
  std::atomic<std::uint64_t> failed_writes{0}; ///< Writes that failed (retried later).
  std::size_t pending() const;

private:
  void trim(); // under mtx_
  const std::string node_;
  const std::size_t max_pending_;
  mutable std::mutex mtx_;
  std::deque<trace_record> queue_;
};

/// The id a record's rows are kept under: its CloudEvents `ce_id` when it has one, else
/// `<topic>/<partition>/<offset>` (a record that is no valid envelope).
std::string trace_message_id(std::string_view ce_id, std::string_view topic,
                             std::int32_t partition, std::int64_t offset);

struct trace_writer_options {
  /// How often queued rows are written.
  std::chrono::milliseconds interval{200};
  /// Rows per store request at most.
  std::size_t max_rows = 5000;
  /// On stop, how long the writer waits for its last write.
  std::chrono::milliseconds stop_timeout{5000};
};

/// A supervisor child ("trace_writer") that writes the rows of `log` to the store actor
/// `link` names, every `interval`, one store request per round (and at once again after
/// a write while a full request's worth is queued). A failed write keeps its
/// rows for the next round. On stop it writes what is queued (within `stop_timeout`), so
/// put it after the store in a `rest_for_one` supervisor and stop the pipelines first.
runtime::child_spec trace_writer_child(std::shared_ptr<trace_log> log, store_link link,
                                       trace_writer_options opts = {});

/// Counters of `log` in `/metrics`, read when scraped: `phoenix_trace_rows_written_total`,
/// `phoenix_trace_rows_dropped_total`, `phoenix_trace_write_failures_total` and the
/// gauge `phoenix_trace_rows_pending`. The registry holds the probe weakly: the metrics
/// show while the returned handle lives.
std::shared_ptr<void> expose_trace_metrics(observability::metrics_registry& metrics,
                                           std::shared_ptr<const trace_log> log);

} // namespace phoenix::persistence
